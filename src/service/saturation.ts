/**
 * Whether vipless is saturated, the input of its early 503s and of the RFC 7339 loss it
 * asks of its clients (proxy/overload-control.ts): work arrives faster than vipless
 * does it. Its own delays say so (the loop's sustained lag, a datagram's wait in the
 * socket queue above `overload.max_delay`, or a queue that overflows), except while
 * the socket queue drains: then vipless already reads faster than work arrives, and a
 * call refused now is a call lost that would have completed once the backlog was read.
 * (Measured at 2.5x the top rate then half of it, bench/results.md: the refusals of
 * the half-load phase were all made while the overload phase's backlog drained.)
 * Overflow always counts: the kernel is dropping, callers retransmit, the load doubles.
 */

export interface SaturationSigns {
  /** The loop lag most recent samples reached, ms (loop-lag.ts sustainedMs). */
  lagMs: number;
  /** A datagram's estimated wait in the socket queue, ms. */
  queueDelayMs: number;
  /** The kernel dropped datagrams in each of the last two samples. */
  overflowing: boolean;
  /** The socket queue shrinks (socket-queue.ts draining). */
  draining: boolean;
}

/**
 * `maxDelayMs` 0 turns the judgement off (never saturated). While the queue drains, the
 * share refused steps down as after any saturation (overload-control.ts): dropping it
 * to 0 at once let the overload back in, and completed fewer calls (bench/results.md).
 */
export function isSaturated(maxDelayMs: number, s: SaturationSigns): boolean {
  if (maxDelayMs <= 0) return false;
  if (s.overflowing) return true;
  if (s.draining) return false;
  return s.lagMs > maxDelayMs || s.queueDelayMs > maxDelayMs;
}
