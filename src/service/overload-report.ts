/**
 * Load shedding made visible. Every refusal is counted by reason; the log gets one
 * `overload` line per reason when shedding starts and then at most one every
 * LOG_EVERY_MS with the count since the previous line, so that a flood of refusals
 * (thousands a second) is one line an operator can read, not a flood of its own.
 */
import type { Logger } from "@logtape/logtape";
import type { Counter } from "../metrics/registry.ts";
import { OncePerKey } from "../protect/once-per-key.ts";
import type { OverloadReason } from "../proxy/hooks.ts";

const LOG_EVERY_MS = 10_000;

const WHAT: Record<OverloadReason, string> = {
  transactions: "sip.max_transactions reached",
  "invite-rate": "overload.max_invite_rate exceeded",
  saturated: "overload.max_delay exceeded (vipless is saturated: its loop or socket queue lags)",
  "member-oc": "a pair member asked for less traffic (RFC 7339 oc)",
  "dns-parked": "too many requests wait for their target's DNS lookup",
};

/** What the log line of a reason adds, read only when a line is written. */
export type OverloadDetail = Partial<Record<OverloadReason, () => Record<string, unknown>>>;

export class OverloadReport {
  readonly #log: Logger;
  readonly #counter: Counter;
  readonly #detail: OverloadDetail;
  readonly #once = new OncePerKey(LOG_EVERY_MS);

  constructor(log: Logger, counter: Counter, detail: OverloadDetail = {}) {
    this.#log = log;
    this.#counter = counter;
    this.#detail = detail;
  }

  /** A request was refused with 503 for `reason` at monotonic time `now`. */
  record(reason: OverloadReason, now: number): void {
    this.#counter.inc({ reason });
    const previous = this.#once.lastPass(reason);
    const held = this.#once.pass(reason, now);
    if (held === null) return;
    this.#log.warning("overload: {what}; {refused} new request(s) refused with 503 since {since}", {
      event: "overload",
      reason,
      what: WHAT[reason],
      refused: held + 1,
      since: previous === undefined ? "now" : `${Math.round((now - previous) / 1000)} s`,
      ...this.#detail[reason]?.(),
    });
  }
}
