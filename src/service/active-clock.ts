/**
 * The clock HA judges members on: monotonic time minus the time vipless itself was not
 * keeping up. Two parts: the loop's stalls (loop-lag.ts: nothing read the sockets) and
 * how far behind it reads (socket-queue.ts: an answer that arrived in time may still
 * wait that long in the kernel's queue). Measured at 2.5× the top rate, the queue held
 * a quarter of a second of datagrams for seconds on end: probe answers "missed" their
 * 300 ms timeout unread, both members were declared down and the pair went out of
 * service while both were healthy.
 *
 * While the kernel drops datagrams because the queue is full (socket-queue.ts
 * `overflowing`) the clock stands still: an answer may have been one of those dropped.
 *
 * The clock never runs backwards: while the queue delay grows it stands still, and
 * when the queue drains (its answers read) it catches up.
 */
import type { LoopLag } from "./loop-lag.ts";
import type { SocketQueueDelay } from "./socket-queue.ts";

export class ActiveClock {
  readonly #monotonic: () => number;
  readonly #lag: LoopLag;
  readonly #queue: SocketQueueDelay;
  #last = -Infinity;
  #lastMonotonic: number | null = null;
  /** Time during which the socket queue overflowed, ms: none of it is judged. */
  #overflowed = 0;

  constructor(monotonic: () => number, lag: LoopLag, queue: SocketQueueDelay) {
    this.#monotonic = monotonic;
    this.#lag = lag;
    this.#queue = queue;
  }

  /** Active ms now (counts a stall that is only now ending, see LoopLag.catchUp). */
  now(): number {
    const mono = this.#monotonic();
    if (this.#lastMonotonic !== null && this.#queue.overflowing()) {
      this.#overflowed += mono - this.#lastMonotonic;
    }
    this.#lastMonotonic = mono;
    const active = this.#lag.catchUp() - this.#queue.delayMs() - this.#overflowed;
    if (active > this.#last) this.#last = active;
    return this.#last;
  }

  /** Monotonic minus active ms: what turns an active-clock deadline into a timer's. */
  behind(): number {
    return this.#monotonic() - this.now();
  }
}
