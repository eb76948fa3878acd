/**
 * vipless's own delay: how late the event loop runs a timer (a GC pause, a burst of
 * work, a busy machine). While the loop is stalled nothing reads the sockets, so an
 * answer that arrived in time waits unread; judging a probe or a forwarded request as
 * timed out across such a stall would blame a member for vipless's own pause. The HA
 * judgement therefore runs on `activeNow()`: the monotonic clock minus the time the
 * loop spent stalled, and a forward timeout that overlaps a stall counts against no one.
 *
 * Measured by a sampling timer every SAMPLE_MS: its lateness is the loop lag, observed
 * into a histogram for /metrics; lateness beyond STALL_SLACK_MS is stall time.
 */
import { RTT_BUCKETS_SECONDS } from "../ha/histogram.ts";
import { Histogram } from "../metrics/registry.ts";
import { PeriodicSampler, type SamplerClock } from "./sampler.ts";

export const SAMPLE_MS = 20;
/** Lateness below this is ordinary timer jitter, not a stall. */
export const STALL_SLACK_MS = 10;
/**
 * How many recent samples sustainedMs() reads. Under overload every sample is late (a
 * turn of the loop reads a socket queue's worth of datagrams before the timer runs, and
 * samples then come every few hundred ms), so "most of the last eight" is about the
 * last second or two; one GC pause is one sample and changes nothing.
 */
const RECENT = 8;
/** sustainedMs() is the lag this many of the RECENT samples reached (5 of 8). */
const SUSTAINED_BY = 5;
/** Stalls older than this are forgotten (longer than any probe or failover timeout). */
const KEEP_MS = 5 * 60_000;

export type LagClock = SamplerClock;

export class LoopLag {
  readonly histogram = new Histogram(
    "vipless_event_loop_lag_seconds",
    "How late vipless's event loop ran a 20 ms sampling timer (GC pauses, bursts of work).",
    // The probes' latency buckets: both are delays of 1 ms to a few seconds.
    RTT_BUCKETS_SECONDS,
  );
  readonly #clock: LagClock;
  readonly #sampler: PeriodicSampler;
  #expected = 0;
  /** Total stall time since start, ms. */
  #stalled = 0;
  /** Recent stalls as [start, end] monotonic ms, oldest first. */
  #stalls: Array<[number, number]> = [];
  /** The last RECENT lags, ms (a ring), and what most of them reached. */
  readonly #recent: number[] = new Array(RECENT).fill(0);
  #next = 0;
  #sustained = 0;

  constructor(clock: LagClock) {
    this.#clock = clock;
    this.#sampler = new PeriodicSampler(clock, SAMPLE_MS, () => this.sample());
  }

  start(): void {
    this.#expected = this.#clock.monotonic() + SAMPLE_MS;
    this.#sampler.start();
  }

  stop(): void {
    this.#sampler.stop();
  }

  /** The sampling timer fired (public for tests on a fake clock). */
  sample(): void {
    const now = this.#clock.monotonic();
    this.record(this.#expected, now);
    this.#expected = now + SAMPLE_MS;
  }

  /** A timer due at `due` ran at `now`. */
  record(due: number, now: number): void {
    const lag = Math.max(0, now - due);
    this.histogram.observe(lag / 1000);
    this.#recent[this.#next] = lag;
    this.#next = (this.#next + 1) % RECENT;
    this.#sustained = [...this.#recent].sort((a, b) => b - a)[SUSTAINED_BY - 1]!;
    if (lag <= STALL_SLACK_MS) return;
    const stall = lag - STALL_SLACK_MS;
    this.#stalled += stall;
    this.#stalls.push([now - stall, now]);
    while (this.#stalls.length > 0 && this.#stalls[0]![1] < now - KEEP_MS) this.#stalls.shift();
  }

  /**
   * Records a stall that ends now, before the sampling timer could (a timer due before it
   * may run first after a pause), and returns activeNow(). HA calls this for its time.
   */
  catchUp(): number {
    const now = this.#clock.monotonic();
    if (this.#sampler.running && now - this.#expected > STALL_SLACK_MS) {
      this.record(this.#expected, now);
      this.#expected = now; // the sampling timer, when it fires, measures from here
    }
    return now - this.#stalled;
  }

  /** Monotonic ms minus the stall time so far: the clock HA judges timeouts on. */
  activeNow(): number {
    return this.#clock.monotonic() - this.#stalled;
  }

  /** The stall time so far, ms (activeNow() + stalledMs() == monotonic()). */
  stalledMs(): number {
    return this.#stalled;
  }

  /** Stall time within [from, to] (monotonic ms). */
  stalledWithin(from: number, to: number): number {
    let sum = 0;
    for (const [s, e] of this.#stalls) {
      const a = Math.max(s, from), b = Math.min(e, to);
      if (b > a) sum += b - a;
    }
    return sum;
  }

  /**
   * The lag most recent samples reached (5 of the last 8), ms: high only while the loop
   * is late sample after sample (saturated), not after one GC pause, however long.
   */
  sustainedMs(): number {
    return this.#sustained;
  }
}
