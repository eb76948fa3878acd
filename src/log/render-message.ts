/**
 * How a value interpolated into a log message reads: strings as they are
 * (`listening for SIP on udp://127.0.0.1:5060`, not `"udp"://"127.0.0.1"`), null as
 * "none" (`switchover from none to …` when a pair comes into service), the rest as
 * JSON. The structured fields keep the real values; this is only the human sentence.
 */
import type { LogRecord } from "@logtape/logtape";

export function renderValue(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "none";
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The record's message with its values rendered, as one string. */
export function renderMessage(record: LogRecord): string {
  let out = "";
  record.message.forEach((part, i) => (out += i % 2 === 0 ? String(part) : renderValue(part)));
  return out;
}

/** The same record with its message already rendered (a formatter then adds no quotes). */
export function withRenderedMessage(record: LogRecord): LogRecord {
  return { ...record, message: [renderMessage(record)] };
}
