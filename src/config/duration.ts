// Durations are written with a unit ("500ms", "1s", "1.5s", "2m") so that a bare
// number can never be misread as seconds when it meant milliseconds, or the reverse.
import { fail, ok, type Parsed } from "./result.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const EXAMPLE = "e.g. 500ms or 1s";

/** Parses "500ms", "1.5s", "2m", "1h" into whole milliseconds. */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === "number") {
    return fail(`durations need a unit, ${EXAMPLE} (got ${input})`);
  }
  if (typeof input !== "string") {
    return fail(`expected a duration, ${EXAMPLE}`);
  }
  const match = DURATION.exec(input.trim());
  if (match === null) {
    return fail(`'${input}' is not a duration; use a number and a unit (ms, s, m, h), ${EXAMPLE}`);
  }
  const ms = Math.round(Number(match[1]) * UNIT_MS[match[2]]);
  if (ms === 0 && Number(match[1]) !== 0) {
    return fail(`'${input}' is shorter than 1ms`);
  }
  return ok(ms);
}

/** parseDuration, then a bound check with the bounds in the message. */
export function parseDurationWithin(input: unknown, min: number, max: number): Parsed<number> {
  const result = parseDuration(input);
  if (!result.ok) return result;
  if (result.value < min) return fail(`must be at least ${formatDuration(min)}`);
  if (result.value > max) return fail(`must be at most ${formatDuration(max)}`);
  return result;
}

/** Milliseconds back to the shortest exact text: 1500 → "1.5s", 120000 → "2m". */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 100 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
