// The set of SIP response codes that count as "the member answered" for a probe,
// written as a comma list of codes and inclusive ranges: "100-407,409-499,600-699".

export interface CodeSet {
  has(code: number): boolean;
  /** The normalised text, for status output. */
  readonly text: string;
}

export type CodeSetResult = { ok: true; value: CodeSet } | { ok: false; error: string };

const MIN_CODE = 100;
const MAX_CODE = 699;

function parseCode(text: string): number | null {
  if (!/^\d{3}$/.test(text)) return null;
  const code = Number(text);
  return code >= MIN_CODE && code <= MAX_CODE ? code : null;
}

/** Parses without throwing, so the config module can turn the error into a message. */
export function tryParseCodeSet(text: string): CodeSetResult {
  const ranges: Array<[number, number]> = [];
  const items = text.split(",").map((s) => s.trim());
  if (items.length === 0 || items.every((s) => s === "")) {
    return { ok: false, error: "empty code list" };
  }
  for (const item of items) {
    if (item === "") return { ok: false, error: `empty item in code list "${text}"` };
    const parts = item.split("-").map((s) => s.trim());
    if (parts.length > 2) return { ok: false, error: `bad code range "${item}"` };
    const lo = parseCode(parts[0]);
    const hi = parts.length === 2 ? parseCode(parts[1]) : lo;
    if (lo === null || hi === null) {
      return {
        ok: false,
        error: `"${item}" is not a SIP response code (100-699) or range of them`,
      };
    }
    if (lo > hi) return { ok: false, error: `range "${item}" runs backwards` };
    ranges.push([lo, hi]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const normalised = ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(",");
  return {
    ok: true,
    value: {
      text: normalised,
      has: (code: number) => ranges.some(([lo, hi]) => code >= lo && code <= hi),
    },
  };
}

/** Throws an Error with the reason when the text is malformed. */
export function parseCodeSet(text: string): CodeSet {
  const result = tryParseCodeSet(text);
  if (!result.ok) throw new Error(`probe.up_codes: ${result.error}`);
  return result.value;
}
