/**
 * How busy vipless's main thread is: the share of the last SAMPLE_MS it ran or waited
 * for a CPU (Linux schedstat through the runtime adapter). The input that ends early
 * 503s as soon as they are no longer needed (proxy/overload-control.ts): the delay
 * signs (saturation.ts) say when vipless falls behind, but after an overload they keep
 * saying so while the backlog is read, and the share refused then only stepped down
 * 10 points per 250 ms. Measured at 2.5x the top rate then half of it
 * (bench/results.md): 788 calls of the half-load phase refused over 1.7 s, most of
 * them after the backlog was read, while the thread idled half of the time.
 *
 * Waiting for a CPU counts as busy: on a host whose other processes hold the CPUs the
 * loop is short of capacity, not idle. (Time the hypervisor steals counts as neither:
 * it errs toward idle by the steal share, a few percent.)
 */
import type { Runtime } from "../runtime/types.ts";
import { Sampled, type SamplerClock } from "./sampler.ts";

export const SAMPLE_MS = 50;

export type BusyClock = SamplerClock & Pick<Runtime, "threadSchedNs">;

export class ThreadBusy extends Sampled {
  readonly #clock: BusyClock;
  #at = 0;
  #ns: number | null = null;
  #share: number | null = null;

  constructor(clock: BusyClock) {
    super(clock, SAMPLE_MS);
    this.#clock = clock;
  }

  start(): void {
    this.#at = this.#clock.monotonic();
    this.#ns = this.#clock.threadSchedNs();
    // Where the kernel cannot say (not Linux) nothing is sampled: share() stays null.
    if (this.#ns !== null) this.startSampling();
  }

  sample(): void {
    const now = this.#clock.monotonic();
    const ns = this.#clock.threadSchedNs();
    const elapsedMs = now - this.#at;
    if (ns !== null && this.#ns !== null && elapsedMs > 0) {
      this.#share = Math.min(1, Math.max(0, (ns - this.#ns) / 1e6 / elapsedMs));
    }
    this.#at = now;
    this.#ns = ns;
  }

  /** The busy share of the last sample, 0 to 1, or null before one (or where unknown). */
  share(): number | null {
    return this.#share;
  }
}
