// A minimal Prometheus-style histogram for probe round-trip times. Kept here, next to
// the facts it summarises, so /metrics reads it at scrape time without the HA core
// knowing the exposition format.

/** Upper bounds in seconds, tuned for SIP OPTIONS round trips on a LAN or WAN. */
export const RTT_BUCKETS_SECONDS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
];

export interface HistogramSnapshot {
  /** Cumulative counts per upper bound, ending with `+Inf` (== count). */
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

export class Histogram {
  readonly #counts: number[];
  #total = 0;
  #sum = 0;

  constructor(readonly bounds: readonly number[] = RTT_BUCKETS_SECONDS) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) throw new Error("histogram bounds must increase");
    }
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) this.#counts[i]++;
    this.#total++;
    this.#sum += value;
  }

  get count(): number {
    return this.#total;
  }

  get sum(): number {
    return this.#sum;
  }

  snapshot(): HistogramSnapshot {
    let running = 0;
    const buckets = this.bounds.map((le, i) => {
      running += this.#counts[i];
      return { le, count: running };
    });
    buckets.push({ le: Infinity, count: this.#total });
    return { buckets, sum: this.#sum, count: this.#total };
  }
}
