/**
 * Coarse-to-fine search for the highest clean call rate: start at `start`, double
 * while clean (capped at `max`), then bisect between the best clean and the lowest
 * failed rate a fixed number of times. Pure: feed it each step's outcome.
 */
export interface SearchOptions {
  start: number;
  max: number;
  bisections: number;
  /** Rates are rounded to this (calls/s). */
  granularity: number;
}

export class RateSearch {
  /** Highest rate that ran clean (0: none yet). */
  best = 0;
  /** Lowest rate that failed (Infinity: none yet). */
  failedAt = Infinity;
  #bisected = 0;
  #next: number | undefined;

  constructor(readonly o: SearchOptions) {
    this.#next = Math.min(o.start, o.max);
  }

  /** The rate to try next, or undefined when the search is over. */
  get next(): number | undefined {
    return this.#next;
  }

  record(rate: number, clean: boolean): void {
    if (clean) this.best = Math.max(this.best, rate);
    else this.failedAt = Math.min(this.failedAt, rate);
    this.#next = this.#choose();
  }

  #choose(): number | undefined {
    const { max, granularity: g } = this.o;
    if (this.failedAt === Infinity) {
      // Still doubling; a clean run at the cap ends the search.
      return this.best >= max ? undefined : Math.min(max, this.best * 2);
    }
    if (this.#bisected >= this.o.bisections) return undefined;
    const mid = Math.round((this.best + this.failedAt) / 2 / g) * g;
    if (mid <= this.best || mid >= this.failedAt) return undefined;
    this.#bisected++;
    return mid;
  }
}
