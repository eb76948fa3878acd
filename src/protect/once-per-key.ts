/**
 * Lets an event through once per key per window (a refusal logged once per source per
 * minute, not per message) and counts what it held back meanwhile. Time as arguments,
 * no I/O; the table is bounded: past `maxKeys` the oldest key is forgotten.
 */
export class OncePerKey {
  /** key -> [when last let through, held back since]; insertion order = oldest first. */
  readonly #seen = new Map<string, [number, number]>();

  constructor(readonly windowMs: number, readonly maxKeys = 10_000) {}

  /**
   * Null while `key` was let through less than a window ago (counted); otherwise how
   * many were held back since the last time, and the key is let through now.
   */
  pass(key: string, now: number): number | null {
    const e = this.#seen.get(key);
    if (e && now - e[0] < this.windowMs) {
      e[1]++;
      return null;
    }
    const held = e ? e[1] : 0;
    this.#seen.delete(key);
    while (this.#seen.size >= Math.max(1, this.maxKeys)) {
      this.#seen.delete(this.#seen.keys().next().value as string);
    }
    this.#seen.set(key, [now, 0]);
    return held;
  }

  /** When `key` was last let through, if it is remembered. */
  lastPass(key: string): number | undefined {
    return this.#seen.get(key)?.[0];
  }

  get size(): number {
    return this.#seen.size;
  }
}
