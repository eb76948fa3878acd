/**
 * The other half of vipless's own delay: how long a datagram waits in the SIP sockets'
 * kernel queue before vipless reads it. A busy event loop can still run its timers on
 * time (the loop lag stays low) while the queue behind it grows to seconds and the
 * kernel drops what no longer fits: callers retransmit, and the load doubles. The
 * queue is read from the kernel every SAMPLE_MS (from each socket, SO_MEMINFO, or else
 * /proc/net/udp rx_queue by local port: the runtime adapter decides) and turned into
 * time with the rate vipless reads datagrams at.
 *
 * The kernel counts each queued datagram with its buffer overhead, so queued bytes
 * become datagrams with the average length read plus PER_DATAGRAM_OVERHEAD: an estimate
 * that errs toward a shorter delay. The rate is what vipless can read: the highest rate
 * seen lately (a queue is read at full speed), at least MIN_RATE_PER_MS, so that a
 * burst arriving at an idle instance is not mistaken for a backlog. The delay is the
 * lower of the last two estimates: a backlog that persists from one sample to the next.
 * After one pause of the loop the queue holds what arrived meanwhile and drains by the
 * next sample; under overload every sample is late (the loop reads for hundreds of ms
 * between timers) and the queue stays full, so late samples count too.
 */
import { Sampled, type SamplerClock } from "./sampler.ts";

export const SAMPLE_MS = 50;
/** The kernel's accounting of one datagram beyond its payload (sk_buff and friends). */
const PER_DATAGRAM_OVERHEAD = 1024;
/** The least read rate assumed, datagrams per ms (one process reads far more). */
export const MIN_RATE_PER_MS = 5;
/** How much of the peak rate is kept per sample (it fades over about ten seconds). */
const PEAK_KEEP = 0.995;
/**
 * The queue drains when it holds at most DRAIN_SHARE of what it held TREND_SAMPLES
 * samples (300 ms) ago: over that span the gulps of Bun's reading (the queue rises while
 * a batch is handled, falls at the next read) average out.
 */
export const TREND_SAMPLES = 6;
const DRAIN_SHARE = 0.9;

export type QueueClock = SamplerClock;

export interface QueueSource {
  /** Datagrams and bytes read so far (monotonic counters). */
  readonly udpRead: { readonly datagrams: number; readonly bytes: number };
  /** Bytes the kernel holds unread now, or null where it cannot be read. */
  udpQueueBytes(): number | null;
  /** Datagrams the kernel dropped so far (a full queue), or null where it cannot say. */
  udpReceiveDrops(): number | null;
}

export class SocketQueueDelay extends Sampled {
  readonly #clock: QueueClock;
  readonly #source: QueueSource;
  #at = 0;
  #datagrams = 0;
  #bytes = 0;
  #delay = 0;
  #lastEstimate = 0;
  #drops: number | null = null;
  #droppedLast = false;
  #overflowing = false;
  #queued: number | null = null;
  /** Queued bytes of the last TREND_SAMPLES samples, oldest first (null: unknown). */
  readonly #trend: Array<number | null> = [];
  #peakRate = MIN_RATE_PER_MS;

  constructor(clock: QueueClock, source: QueueSource) {
    super(clock, SAMPLE_MS);
    this.#clock = clock;
    this.#source = source;
  }

  start(): void {
    this.#at = this.#clock.monotonic();
    this.#datagrams = this.#source.udpRead.datagrams;
    this.#bytes = this.#source.udpRead.bytes;
    this.#drops = this.#source.udpReceiveDrops();
    this.startSampling();
  }

  sample(): void {
    const now = this.#clock.monotonic();
    const read = this.#source.udpRead;
    const datagrams = read.datagrams - this.#datagrams;
    const bytes = read.bytes - this.#bytes;
    const elapsed = Math.max(1, now - this.#at);
    this.#queued = this.#source.udpQueueBytes();
    this.#peakRate = Math.max(datagrams / elapsed, this.#peakRate * PEAK_KEEP, MIN_RATE_PER_MS);
    const estimate = estimateDelayMs(this.#queued ?? 0, datagrams, bytes, this.#peakRate);
    this.#delay = Math.min(estimate, this.#lastEstimate);
    this.#lastEstimate = estimate;
    const drops = this.#source.udpReceiveDrops();
    const dropped = drops !== null && this.#drops !== null && drops > this.#drops;
    this.#overflowing = dropped && this.#droppedLast;
    this.#droppedLast = dropped;
    this.#drops = drops;
    this.#trend.push(this.#queued);
    if (this.#trend.length > TREND_SAMPLES + 1) this.#trend.shift();
    this.#at = now;
    this.#datagrams = read.datagrams;
    this.#bytes = read.bytes;
  }

  /** The estimated wait of a datagram arriving now, ms, as the last two samples agree (0 with an empty queue). */
  delayMs(): number {
    return this.#delay;
  }

  /**
   * True while the kernel dropped datagrams in each of the last two samples: the queue
   * is full and stays full. Under Bun this is the signal that holds: its reading drains
   * the kernel queue in gulps (the samples, taken between them, find it near empty)
   * while the backlog it has read but not handled is invisible from here.
   */
  overflowing(): boolean {
    return this.#overflowing;
  }

  /**
   * True while the backlog shrinks: the queue holds clearly less than it did 300 ms ago
   * and nothing was dropped since the last sample. vipless then reads faster than work
   * arrives (the overload is over, or the share refused is enough): the wait is
   * temporary, and a call accepted now completes once the backlog is read.
   */
  draining(): boolean {
    if (this.#droppedLast || this.#trend.length <= TREND_SAMPLES) return false;
    const then = this.#trend[0], now = this.#queued;
    return then !== null && now !== null && then > 0 && now <= then * DRAIN_SHARE;
  }

  /** The queued bytes at the last sample, or null where the kernel cannot say. */
  queuedBytes(): number | null {
    return this.#queued;
  }
}

/**
 * `queued` bytes in the kernel, `datagrams` of `bytes` read lately (for their average
 * size), read at `ratePerMs`: the time it takes to read what is queued.
 */
export function estimateDelayMs(
  queued: number,
  datagrams: number,
  bytes: number,
  ratePerMs: number,
): number {
  if (queued <= 0) return 0;
  const average = datagrams > 0 ? bytes / datagrams : 0;
  return queued / (average + PER_DATAGRAM_OVERHEAD) / Math.max(ratePerMs, MIN_RATE_PER_MS);
}
