/**
 * A measurement taken every `everyMs` by one runtime timer, re-armed after each
 * sample: what loop-lag.ts and socket-queue.ts share. Re-arming after the sample (not a
 * fixed-rate interval) is what lets a late sample reveal a stalled loop.
 *
 * `runIfOverdue` takes a sample that is a whole period overdue from wherever the caller
 * is: Bun's UDP reading starves every timer while a socket queue stays full, so the
 * measurement that must see that queue is also driven from the message path.
 */
import type { Runtime, TimerHandle } from "../runtime/types.ts";

export type SamplerClock = Pick<Runtime, "monotonic" | "setTimer" | "clearTimer">;

export class PeriodicSampler {
  readonly #clock: SamplerClock;
  readonly #everyMs: number;
  readonly #sample: () => void;
  #timer: TimerHandle | null = null;
  /** When the armed timer is due (monotonic ms). */
  #dueAt = Infinity;

  constructor(clock: SamplerClock, everyMs: number, sample: () => void) {
    this.#clock = clock;
    this.#everyMs = everyMs;
    this.#sample = sample;
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.#timer !== null;
  }

  start(): void {
    this.stop();
    this.#arm();
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  /** Samples now when the timer is a whole period overdue (it was starved), and re-arms. */
  runIfOverdue(now: number): void {
    if (this.#timer === null || now - this.#dueAt < this.#everyMs) return;
    this.#clock.clearTimer(this.#timer);
    this.#sample();
    this.#arm();
  }

  #arm(): void {
    this.#dueAt = this.#clock.monotonic() + this.#everyMs;
    this.#timer = this.#clock.setTimer(this.#everyMs, () => {
      this.#sample();
      if (this.#timer !== null) this.#arm();
    });
  }
}

/**
 * A measurement sampled every `everyMs` that is also driven from the message path
 * (socket-queue.ts, thread-busy.ts): the sampler's start, stop and runIfOverdue, once.
 */
export abstract class Sampled {
  readonly #sampler: PeriodicSampler;

  constructor(clock: SamplerClock, everyMs: number) {
    this.#sampler = new PeriodicSampler(clock, everyMs, () => this.sample());
  }

  /** Takes one sample (public for tests on a fake clock). */
  abstract sample(): void;

  stop(): void {
    this.#sampler.stop();
  }

  /** Samples from the message path when the sampling timer is starved. */
  runIfOverdue(now: number): void {
    this.#sampler.runIfOverdue(now);
  }

  protected startSampling(): void {
    this.#sampler.start();
  }
}
