// Health of one member as seen by this instance's probes, with hysteresis as HAProxy's
// rise/fall: `probe.failures` consecutive misses take it "down", `probe.rise`
// consecutive good answers bring a down member back "up" (the first answer decides a
// member not yet known). A member is "suspect" after a forwarded request to it failed:
// then the very next miss is enough when the other member is up (two independent
// signals agree, and the pair switches to a live member); when the other member is
// not up, a forward failure shortens nothing, so that only probe evidence against both
// members takes a pair out of service. A member that changes state more than
// FLAP_CHANGES times within FLAP_WINDOW_MS is flapping: reported once per window.

import type { HealthStatus, ProbeMissCause } from "./types.ts";

export type HealthChange = "up" | "down" | null;

export const FLAP_CHANGES = 4;
export const FLAP_WINDOW_MS = 60_000;

export class MemberHealth {
  status: HealthStatus = "unknown";
  consecutiveFailures = 0;
  /** Good answers in a row (toward `probe.rise` while down). */
  consecutiveAnswers = 0;
  suspect = false;
  /** When its status changed, within the last FLAP_WINDOW_MS. */
  #changes: number[] = [];
  #flapReportedAt = -Infinity;
  /** When the last probe result (answer or miss) was recorded. */
  lastProbeAt: number | null = null;
  /** When the last good answer arrived. */
  lastAnswerAt: number | null = null;
  lastRttMs: number | null = null;
  lastStatusCode: number | null = null;
  lastMissCause: ProbeMissCause | null = null;
  /** Set when the latest change to "down" happened while the member was suspect. */
  downWhileSuspect = false;

  /** A good probe answer. Returns "up" when this changed the status. */
  recordAnswer(now: number, rttMs: number, statusCode: number, rise = 1): HealthChange {
    this.lastProbeAt = now;
    this.lastAnswerAt = now;
    this.lastRttMs = rttMs;
    this.lastStatusCode = statusCode;
    this.consecutiveFailures = 0;
    this.consecutiveAnswers++;
    this.suspect = false;
    if (this.status === "down" && this.consecutiveAnswers < Math.max(1, rise)) return null;
    return this.#become("up", now);
  }

  /**
   * A miss: timeout, transport error, or a code outside the up set (then `statusCode`
   * and `rttMs` are given). Returns "down" when this changed the status.
   */
  recordMiss(
    now: number,
    cause: ProbeMissCause,
    failuresToDown: number,
    answer?: { statusCode: number; rttMs: number },
    suspicionCounts = true,
  ): HealthChange {
    this.lastProbeAt = now;
    this.lastMissCause = cause;
    if (answer) {
      this.lastStatusCode = answer.statusCode;
      this.lastRttMs = answer.rttMs;
    }
    this.consecutiveFailures++;
    this.consecutiveAnswers = 0;
    const wasSuspect = this.suspect && suspicionCounts;
    if (!wasSuspect && this.consecutiveFailures < Math.max(1, failuresToDown)) return null;
    this.suspect = false;
    if (this.status === "down") return null;
    this.downWhileSuspect = wasSuspect;
    return this.#become("down", now);
  }

  /** A forwarded request to this member failed; the next probe decides. */
  markSuspect(): void {
    if (this.status !== "down") this.suspect = true;
  }

  /** Proof of life other than a probe (the member sent us a request): up at once. */
  markAlive(now: number): HealthChange {
    this.consecutiveFailures = 0;
    return this.#become("up", now);
  }

  /**
   * Once per FLAP_WINDOW_MS, when the status changed more than FLAP_CHANGES times within
   * the window: how many times; otherwise 0.
   */
  flappingNow(now: number): number {
    const since = now - FLAP_WINDOW_MS;
    while (this.#changes.length > 0 && this.#changes[0]! < since) this.#changes.shift();
    if (this.#changes.length <= FLAP_CHANGES || this.#flapReportedAt >= since) return 0;
    this.#flapReportedAt = now;
    return this.#changes.length;
  }

  /** Forget the verdict (operator override): probes must build a new one. */
  resetToUnknown(): void {
    this.status = "unknown";
    this.consecutiveFailures = 0;
    this.consecutiveAnswers = 0;
    this.suspect = false;
  }

  #become(status: "up" | "down", now: number): HealthChange {
    if (this.status === status) return null;
    // From "unknown" it is the first verdict, not a change back and forth.
    if (this.status !== "unknown") this.#changes.push(now);
    this.status = status;
    return status;
  }
}
