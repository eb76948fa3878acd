import type { Result } from "../result.ts";

/** Outcome of parsing one config value: the value, or a message for the operator. */
export type Parsed<T> = Result<{ value: T }, string>;

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T = never>(message: string): Parsed<T> {
  return { ok: false, error: message };
}
