/**
 * `overload.max_invite_rate`: a token bucket over new INVITEs. Above the rate a new
 * INVITE is refused with 503 before any work is spent on routing it.
 */
export class InviteRateLimiter {
  #rate: number;
  #tokens = 0;
  /** -Infinity: the bucket starts full, whatever the monotonic clock reads at start. */
  #refilledAt = Number.NEGATIVE_INFINITY;

  constructor(ratePerSecond: number) {
    this.#rate = ratePerSecond;
  }

  set rate(ratePerSecond: number) {
    this.#rate = ratePerSecond;
  }

  /** True when one more INVITE at `now` would exceed the rate (0 = no limit). */
  exceeded(now: number): boolean {
    const rate = this.#rate;
    if (rate <= 0) return false;
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens < 1) return true;
    this.#tokens -= 1;
    return false;
  }
}
