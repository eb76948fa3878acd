// The probe round-trip histogram of a member, which also keeps its last few samples:
// /status and the status page show a short recent history, which buckets cannot give.

import { Histogram, RTT_BUCKETS_SECONDS } from "./histogram.ts";

/** How many recent round trips each member keeps. */
export const RECENT_RTT_LIMIT = 20;

export class RttHistogram extends Histogram {
  readonly #recent: number[] = [];

  constructor(readonly limit = RECENT_RTT_LIMIT) {
    super(RTT_BUCKETS_SECONDS);
  }

  /** One round trip, in seconds (the histogram's unit). */
  override observe(seconds: number): void {
    super.observe(seconds);
    this.#recent.push(seconds);
    if (this.#recent.length > this.limit) this.#recent.shift();
  }

  /** The last round trips in milliseconds, oldest first. */
  recentMs(): number[] {
    return this.#recent.map((s) => Math.round(s * 1e6) / 1e3);
  }
}
