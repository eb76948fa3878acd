/**
 * Per-source request limiting, after Kamailio's `pike` module: a source address that
 * sends more than `ratePerSecond` requests in a second (a token bucket of that depth,
 * so a burst up to the rate passes) is blocked for `blockMs`; everything it sends
 * meanwhile is dropped unanswered, so a flood costs it more than it costs us. Takes
 * time as arguments and does no I/O. The table is bounded: past `maxSources` the
 * oldest entry goes (a source seen again starts afresh).
 */

export interface SourceLimiterSettings {
  /** Requests per second per source; 0 turns the limiter off. */
  ratePerSecond: number;
  blockMs: number;
  /** Sources tracked at most. */
  maxSources: number;
}

/** What to do with a message from a source. */
export type Verdict =
  | "pass"
  /** Dropped: the source is blocked. */
  | "blocked"
  /** Dropped: this request crossed the rate, and the source is blocked from now on. */
  | "newly-blocked";

interface Entry {
  tokens: number;
  /** When the tokens were last topped up. */
  at: number;
  /** Blocked until then (monotonic ms), or 0. */
  until: number;
}

export class SourceLimiter {
  #settings: SourceLimiterSettings;
  /** In insertion order, so the first key is the oldest. */
  readonly #table = new Map<string, Entry>();
  #dropped = 0;
  #blocks = 0;

  constructor(settings: SourceLimiterSettings) {
    this.#settings = settings;
  }

  get settings(): SourceLimiterSettings {
    return this.#settings;
  }

  /** New settings (a reload); an off limiter forgets every source. */
  reconfigure(settings: SourceLimiterSettings): void {
    this.#settings = settings;
    if (settings.ratePerSecond <= 0) this.#table.clear();
  }

  /**
   * Judges one message from `source` at `now`. Only requests spend tokens (responses
   * answer something sent); a blocked source has everything dropped.
   */
  check(source: string, isRequest: boolean, now: number): Verdict {
    const { ratePerSecond: rate, blockMs } = this.#settings;
    if (rate <= 0) return "pass";
    let e = this.#table.get(source);
    if (e && e.until > 0) {
      if (now < e.until) {
        this.#dropped++;
        return "blocked";
      }
      this.#table.delete(source); // the block is over: start afresh
      e = undefined;
    }
    if (!isRequest) return "pass";
    if (!e) {
      e = { tokens: rate, at: now, until: 0 };
      this.#insert(source, e);
    } else {
      e.tokens = Math.min(rate, e.tokens + ((now - e.at) * rate) / 1000);
      e.at = now;
    }
    if (e.tokens >= 1) {
      e.tokens -= 1;
      return "pass";
    }
    e.until = now + blockMs;
    this.#dropped++;
    this.#blocks++;
    return "newly-blocked";
  }

  /** True while `source` is blocked. */
  isBlocked(source: string, now: number): boolean {
    const e = this.#table.get(source);
    return e !== undefined && e.until > now;
  }

  /** Sources blocked at `now`. */
  blockedAt(now: number): number {
    let n = 0;
    for (const e of this.#table.values()) if (e.until > now) n++;
    return n;
  }

  /** Sources in the table (bounded by maxSources). */
  get tracked(): number {
    return this.#table.size;
  }

  /** Messages dropped because their source was blocked, since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Times a source was blocked, since start. */
  get blocks(): number {
    return this.#blocks;
  }

  #insert(source: string, e: Entry): void {
    while (this.#table.size >= Math.max(1, this.#settings.maxSources)) {
      const oldest = this.#table.keys().next().value as string;
      this.#table.delete(oldest);
    }
    this.#table.set(source, e);
  }
}
