// probe.up_codes: which OPTIONS responses prove a member is alive. Written as a
// comma list of codes, ranges and classes ("100-407,409-499,600-699", "2xx, 404").
import { fail, ok, type Parsed } from "./result.ts";

/** An inclusive range of SIP status codes. */
export interface StatusRange {
  from: number;
  to: number;
}

const ITEM = /^(\d{3})(?:\s*-\s*(\d{3}))?$|^([1-6])xx$/i;

/** Parses a status code list; every code must be 100-699. */
export function parseStatusRanges(spec: string): Parsed<StatusRange[]> {
  const items = spec.split(",").map((item) => item.trim());
  const ranges: StatusRange[] = [];
  for (const item of items) {
    const match = ITEM.exec(item);
    if (match === null) {
      return fail(
        `'${item}' is not a status code, range or class; write e.g. 200, 100-407 or 2xx`,
      );
    }
    const from = match[3] !== undefined ? Number(match[3]) * 100 : Number(match[1]);
    const to = match[3] !== undefined
      ? from + 99
      : match[2] !== undefined
      ? Number(match[2])
      : from;
    if (from < 100 || to > 699) return fail(`'${item}': SIP status codes are 100-699`);
    if (from > to) return fail(`'${item}': the range runs backwards`);
    ranges.push({ from, to });
  }
  return ok(ranges);
}

/** A predicate over status codes for an already validated list (throws on a bad one). */
export function statusMatcher(spec: string): (status: number) => boolean {
  const parsed = parseStatusRanges(spec);
  if (!parsed.ok) throw new Error(parsed.message);
  const ranges = parsed.value;
  return (status) => ranges.some((r) => status >= r.from && status <= r.to);
}
