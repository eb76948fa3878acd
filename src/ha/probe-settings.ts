// The probe settings the registry runs on, checked before any of them is applied so
// that a reload with bad settings changes nothing.

import type { ProbeTiming } from "./prober.ts";
import type { CodeRange, HaProbeSpec } from "./types.ts";

export interface ProbeSettings {
  timing: ProbeTiming;
  /** Consecutive misses that mark a member down. */
  failures: number;
  /** Consecutive good answers that bring a down member up. */
  rise: number;
  /** True for an answer that proves the member alive (`probe.up_codes`). */
  isUp(statusCode: number): boolean;
}

/** Throws an Error naming the setting when one cannot work. */
export function probeSettings(probe: HaProbeSpec): ProbeSettings {
  for (const k of ["interval", "force_interval", "timeout"] as const) {
    if (!(probe[k] > 0)) throw new Error(`probe.${k} must be a positive duration`);
  }
  for (const k of ["failures", "rise"] as const) {
    if (!Number.isInteger(probe[k]) || probe[k] < 1) {
      throw new Error(`probe.${k} must be a whole number of at least 1`);
    }
  }
  const ranges = checkRanges(probe.up_codes);
  return {
    timing: {
      interval: probe.interval,
      forceInterval: probe.force_interval,
      timeout: probe.timeout,
    },
    failures: probe.failures,
    rise: probe.rise,
    isUp: (code) => ranges.some((r) => code >= r.from && code <= r.to),
  };
}

/**
 * The config module parsed the text already; this only guards the HA core against a
 * caller that built the ranges by hand (a test, a future API) with nonsense in them.
 */
function checkRanges(ranges: readonly CodeRange[]): CodeRange[] {
  if (!Array.isArray(ranges) || ranges.length === 0) {
    throw new Error("probe.up_codes must hold at least one range of status codes");
  }
  for (const { from, to } of ranges) {
    const code = (n: number) => Number.isInteger(n) && n >= 100 && n <= 699;
    if (!code(from) || !code(to) || from > to) {
      throw new Error(`probe.up_codes: ${from}-${to} is no range of SIP status codes (100-699)`);
    }
  }
  return ranges.map((r) => ({ from: r.from, to: r.to }));
}
