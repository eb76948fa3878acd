// probe.up_codes: which OPTIONS responses prove a member is alive. This is the one
// parser of that syntax: the schema validates with it, and the service hands the HA
// core the ranges it returns, so a value check-config accepts can never stop the
// service at start.
//
// Written as a comma list ("100-407,409-499,600-699", "2xx, 404") or a YAML list
// ([200, 404], ["2xx", 404]); each item is a code, an inclusive range or a class.
import type { Result } from "../result.ts";
import { fail, ok, type Parsed } from "./result.ts";

/** An inclusive range of SIP status codes. */
export interface StatusRange {
  from: number;
  to: number;
}

const ITEM = /^(\d{3})(?:\s*-\s*(\d{3}))?$|^([1-6])xx$/i;
const EXAMPLE = "write e.g. 200, 100-407 or 2xx";

/** One item: "200", "100-407" or "2xx"; every code must be 100-699. */
export function parseStatusItem(item: string): Parsed<StatusRange> {
  const match = ITEM.exec(item);
  if (match === null) return fail(`'${item}' is not a status code, range or class; ${EXAMPLE}`);
  const from = match[3] !== undefined ? Number(match[3]) * 100 : Number(match[1]);
  const to = match[3] !== undefined ? from + 99 : match[2] !== undefined ? Number(match[2]) : from;
  if (from < 100 || to > 699) return fail(`'${item}': SIP status codes are 100-699`);
  if (from > to) return fail(`'${item}': the range runs backwards`);
  return ok({ from, to });
}

/** Parses a comma list of items. */
export function parseStatusRanges(spec: string): Parsed<StatusRange[]> {
  const ranges: StatusRange[] = [];
  for (const item of spec.split(",").map((s) => s.trim())) {
    const range = parseStatusItem(item);
    if (!range.ok) return range;
    ranges.push(range.value);
  }
  return ok(ranges);
}

/** What `parseUpCodes` gives; a failure's `index` is the list item at fault, for its position. */
export type UpCodesResult = Result<{ value: string }, { message: string; index?: number }>;

/**
 * The YAML value of `probe.up_codes` (a string, a bare number, or a list of either)
 * to its normalised comma text, items in code order: `[404, "2xx"]` → "2xx,404".
 */
export function parseUpCodes(input: unknown): UpCodesResult {
  if (typeof input === "number") input = String(input);
  if (typeof input === "string") {
    const items = input.split(",").map((s) => s.trim());
    const ranges = parseStatusRanges(input);
    if (!ranges.ok) return { ok: false, error: { message: ranges.error } };
    return { ok: true, value: inCodeOrder(items, ranges.value) };
  }
  if (!Array.isArray(input)) {
    return {
      ok: false,
      error: { message: "expected a list like 100-407,409-499,600-699 or [200, 404]" },
    };
  }
  if (input.length === 0) {
    return { ok: false, error: { message: `needs at least one item; ${EXAMPLE}` } };
  }
  const items: string[] = [];
  const ranges: StatusRange[] = [];
  for (const [index, value] of input.entries()) {
    if (typeof value !== "string" && typeof value !== "number") {
      return {
        ok: false,
        error: { index, message: `each item is one code, range or class; ${EXAMPLE}` },
      };
    }
    const item = String(value).trim();
    const range = parseStatusItem(item);
    if (!range.ok) return { ok: false, error: { index, message: range.error } };
    items.push(item);
    ranges.push(range.value);
  }
  return { ok: true, value: inCodeOrder(items, ranges) };
}

/** The items as written, ordered by the codes they cover, joined with commas. */
function inCodeOrder(items: string[], ranges: StatusRange[]): string {
  return items
    .map((item, i) => ({ item, range: ranges[i] }))
    .sort((a, b) => a.range.from - b.range.from || a.range.to - b.range.to)
    .map((x) => x.item)
    .join(",");
}

/** The ranges of an already validated list (throws on a bad one). */
export function upCodeRanges(spec: string): StatusRange[] {
  const parsed = parseStatusRanges(spec);
  if (!parsed.ok) throw new Error(`probe.up_codes: ${parsed.error}`);
  return parsed.value;
}

/** A predicate over status codes for an already validated list (throws on a bad one). */
export function statusMatcher(spec: string): (status: number) => boolean {
  const ranges = upCodeRanges(spec);
  return (status) => ranges.some((r) => status >= r.from && status <= r.to);
}
