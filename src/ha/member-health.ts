// Health of one member as seen by this instance's probes. It counts consecutive
// misses and flips to "down" after the configured number; one good answer brings it
// back "up". A member is "suspect" after a forwarded request to it failed: then the
// very next miss is enough, because two independent signals now agree.

import type { HealthStatus, ProbeMissCause } from "./types.ts";

export type HealthChange = "up" | "down" | null;

export class MemberHealth {
  status: HealthStatus = "unknown";
  consecutiveFailures = 0;
  suspect = false;
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
  recordAnswer(now: number, rttMs: number, statusCode: number): HealthChange {
    this.lastProbeAt = now;
    this.lastAnswerAt = now;
    this.lastRttMs = rttMs;
    this.lastStatusCode = statusCode;
    this.consecutiveFailures = 0;
    this.suspect = false;
    return this.#become("up");
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
  ): HealthChange {
    this.lastProbeAt = now;
    this.lastMissCause = cause;
    if (answer) {
      this.lastStatusCode = answer.statusCode;
      this.lastRttMs = answer.rttMs;
    }
    this.consecutiveFailures++;
    const wasSuspect = this.suspect;
    if (!wasSuspect && this.consecutiveFailures < Math.max(1, failuresToDown)) return null;
    this.suspect = false;
    if (this.status === "down") return null;
    this.downWhileSuspect = wasSuspect;
    return this.#become("down");
  }

  /** A forwarded request to this member failed; the next probe decides. */
  markSuspect(): void {
    if (this.status !== "down") this.suspect = true;
  }

  /** Proof of life other than a probe (the member sent us a request). */
  markAlive(): HealthChange {
    this.consecutiveFailures = 0;
    return this.#become("up");
  }

  /** Forget the verdict (operator override): probes must build a new one. */
  resetToUnknown(): void {
    this.status = "unknown";
    this.consecutiveFailures = 0;
    this.suspect = false;
  }

  #become(status: "up" | "down"): HealthChange {
    if (this.status === status) return null;
    this.status = status;
    return status;
  }
}
