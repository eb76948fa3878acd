/**
 * A measurement taken every `everyMs` by one runtime timer, re-armed after each
 * sample: what loop-lag.ts and socket-queue.ts share. Re-arming after the sample (not a
 * fixed-rate interval) is what lets a late sample reveal a stalled loop.
 */
import type { Runtime, TimerHandle } from "../runtime/types.ts";

export type SamplerClock = Pick<Runtime, "monotonic" | "setTimer" | "clearTimer">;

export class PeriodicSampler {
  readonly #clock: SamplerClock;
  readonly #everyMs: number;
  readonly #sample: () => void;
  #timer: TimerHandle | null = null;

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

  #arm(): void {
    this.#timer = this.#clock.setTimer(this.#everyMs, () => {
      this.#sample();
      if (this.#timer !== null) this.#arm();
    });
  }
}
