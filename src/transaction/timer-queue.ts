/**
 * One queue for every timer of the transaction layer (and of its user), keyed by
 * absolute deadline in ms. The runtime glue keeps a single real timer armed at
 * `nextDeadline()` and calls back with the current time; nothing here reads a clock.
 *
 * An indexed binary min-heap: every entry knows its slot, so `cancel` removes it in
 * O(log n) instead of leaving a tombstone. Transactions cancel most of their timers
 * (Timer B is cancelled by nearly every answered INVITE), so eager removal keeps the
 * heap as small as the number of timers that can still fire.
 */

/** Opaque reference to a scheduled timer, used to cancel it. */
export interface TimerHandle {
  /** Absolute time in ms at which the timer is due. */
  readonly deadline: number;
}

class Entry<T> implements TimerHandle {
  constructor(
    readonly deadline: number,
    /** Insertion order: timers due at the same ms fire in the order they were set. */
    readonly seq: number,
    readonly payload: T,
    /** Position in the heap array; -1 once fired or cancelled. */
    public index: number,
    readonly owner: TimerQueue<T>,
  ) {}
}

export class TimerQueue<T> {
  #heap: Entry<T>[] = [];
  #seq = 0;

  /** Number of timers still pending. */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `payload` for `popDue` (or `expire`) once `now >= deadline`. O(log n). */
  schedule(deadline: number, payload: T): TimerHandle {
    const entry = new Entry(deadline, this.#seq++, payload, this.#heap.length, this);
    this.#heap.push(entry);
    this.#siftUp(entry.index);
    return entry;
  }

  /** Cancels a pending timer. O(log n). Returns false if it already fired or was cancelled. */
  cancel(handle: TimerHandle): boolean {
    if (!(handle instanceof Entry) || handle.owner !== this || handle.index < 0) return false;
    this.#removeAt(handle.index);
    return true;
  }

  /** The earliest pending deadline, or undefined when no timer is pending. O(1). */
  nextDeadline(): number | undefined {
    return this.#heap[0]?.deadline;
  }

  /** Removes and returns the earliest timer due at `now`, or undefined if none is due. */
  popDue(now: number): T | undefined {
    const top = this.#heap[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.#removeAt(0);
    return top.payload;
  }

  /** Removes and returns every payload due at `now`, earliest first (at most `max`). */
  expire(now: number, max = Number.POSITIVE_INFINITY): T[] {
    const due: T[] = [];
    while (due.length < max) {
      const top = this.#heap[0];
      if (top === undefined || top.deadline > now) break;
      this.#removeAt(0);
      due.push(top.payload);
    }
    return due;
  }

  /** Drops every pending timer. */
  clear(): void {
    for (const e of this.#heap) e.index = -1;
    this.#heap = [];
  }

  #removeAt(i: number): void {
    const heap = this.#heap;
    const removed = heap[i];
    const last = heap.pop()!;
    removed.index = -1;
    if (last === removed) return;
    heap[i] = last;
    last.index = i;
    // The moved entry may belong above or below its new slot.
    if (i > 0 && this.#less(last, heap[(i - 1) >> 1])) this.#siftUp(i);
    else this.#siftDown(i);
  }

  #less(a: Entry<T>, b: Entry<T>): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const entry = heap[i];
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex];
      if (!this.#less(entry, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = entry;
    entry.index = i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(heap[right], heap[left]) ? right : left;
      if (!this.#less(heap[child], entry)) break;
      heap[i] = heap[child];
      heap[i].index = i;
      i = child;
    }
    heap[i] = entry;
    entry.index = i;
  }
}
