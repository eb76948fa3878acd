// Operator-facing wording for zod's generic issues, so every message reads like
// "expected a string, got the number 5" rather than a library's internal terms.
import type { z } from "zod";
import { didYouMean } from "./suggest.ts";

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value)",
};

/** How a YAML value reads in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  return "a mapping";
}

/** One line per unknown key, in the order of `keys`; the YAML mapper splits them. */
export function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  return keys.map((key) => `unknown key '${key}'${didYouMean(key, known)}`).join("\n");
}

function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? "" : "s"}`;
}

/** The per-parse error map: fills in every message a schema did not set itself. */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const key = issue.path?.at(-1);
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined && key !== undefined) {
        return `missing required key '${String(key)}'`;
      }
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${
        describeValue(issue.input)
      }`;
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "array") return `needs at least ${plural(min, "item")}`;
      if (issue.origin === "string") return min === 1 ? "must not be empty" : `needs ${min}+ chars`;
      return issue.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "array") return `allows at most ${plural(max, "item")}`;
      if (issue.origin === "string") return `must be at most ${plural(max, "character")} long`;
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    }
    case "invalid_value": {
      const options = issue.values.map(String);
      const got = describeValue(issue.input);
      const hint = typeof issue.input === "string" ? didYouMean(issue.input, options) : "";
      return `expected one of ${options.join(", ")}, got ${got}${hint}`;
    }
    case "unrecognized_keys":
      return unknownKeysMessage(issue.keys, []);
    default:
      return undefined;
  }
};
