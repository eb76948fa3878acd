/**
 * Deadlines of the absorbing states (Timers D, I, J, K, L, M): the states a transaction
 * enters once its final response is sent or received, where it only absorbs (or
 * answers) retransmissions until the timer ends it. At a thousand calls a second these
 * are nearly every live transaction (four per call, about 100 transaction-seconds), so
 * they carry no timer object of their own: a timer's duration is fixed per timer name
 * and transport, so deadlines of one name arrive in order and a FIFO of (transaction,
 * deadline) pairs, one per name, replaces the heap entry, its payload and its handle.
 *
 * A transaction records its deadline in `lingerUntil`; an entry whose transaction
 * no longer carries that deadline (it ended another way: its owner set it to 0) is
 * stale and skipped.
 */

/** What the queue needs from a transaction. */
export interface Lingering {
  /** Deadline of its absorbing state in ms; 0 when it is not lingering. */
  lingerUntil: number;
}

export class LingerQueue<T extends Lingering> {
  #items: (T | undefined)[] = [];
  #deadlines: number[] = [];
  #head = 0;

  /**
   * Queues `item` until `deadline`. Deadlines are expected in order (same duration,
   * monotonic clock); one that is not is only fired late, never early or lost.
   */
  push(item: T, deadline: number): void {
    item.lingerUntil = deadline;
    this.#items.push(item);
    this.#deadlines.push(deadline);
  }

  /** Earliest live deadline, or undefined. Drops stale entries at the head. */
  nextDeadline(): number | undefined {
    this.#dropStale();
    return this.#head < this.#items.length ? this.#deadlines[this.#head] : undefined;
  }

  /** The next item due at `now` (its wait over: `lingerUntil` is 0 again), or undefined. */
  popDue(now: number): T | undefined {
    this.#dropStale();
    if (this.#head >= this.#items.length || this.#deadlines[this.#head]! > now) return undefined;
    const item = this.#items[this.#head]!;
    this.#advance();
    item.lingerUntil = 0;
    return item;
  }

  #dropStale(): void {
    while (this.#head < this.#items.length) {
      const item = this.#items[this.#head]!;
      if (item.lingerUntil === this.#deadlines[this.#head]) return;
      this.#advance();
    }
  }

  /** Consumes the head entry; the arrays are compacted once half of them is consumed. */
  #advance(): void {
    this.#items[this.#head] = undefined;
    this.#head++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#deadlines = this.#deadlines.slice(this.#head);
      this.#head = 0;
    }
  }
}
