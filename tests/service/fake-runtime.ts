// A Runtime whose clocks and timers the test moves by hand. Only what the service
// glue uses is there: the monotonic and wall clocks and setTimer/clearTimer; anything
// else throws, so a test notices when the code under test reaches further.
import type { Runtime, TimerHandle } from "../../src/runtime/types.ts";

interface Timer {
  id: number;
  at: number;
  ms: number;
  fn: () => void;
}

export class FakeClock {
  /** Monotonic milliseconds; starts away from 0 like performance.now() after start-up. */
  mono = 1_000;
  /** Wall-clock milliseconds: 2024-01-01T12:00:00Z. */
  wall = Date.UTC(2024, 0, 1, 12, 0, 0);
  /** Every setTimer call, in order. */
  readonly setCalls: Array<{ at: number; ms: number }> = [];
  clears = 0;
  readonly #timers = new Map<number, Timer>();
  #nextId = 1;

  monotonic = (): number => this.mono;
  now = (): number => this.wall;

  setTimer = (ms: number, fn: () => void): TimerHandle => {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.mono + ms, ms, fn });
    this.setCalls.push({ at: this.mono + ms, ms });
    return { id };
  };

  clearTimer = (handle: TimerHandle): void => {
    if (this.#timers.delete(handle.id as number)) this.clears++;
  };

  /** Timers set and not yet fired or cleared. */
  get live(): number {
    return this.#timers.size;
  }

  /** When the earliest live timer is due, or null. */
  get nextAt(): number | null {
    const next = this.#earliest();
    return next ? next.at : null;
  }

  /** Moves both clocks on by `ms`, firing every timer on time on the way. */
  advance(ms: number): void {
    const end = this.mono + ms;
    for (let t = this.#earliest(); t && t.at <= end; t = this.#earliest()) {
      this.#move(Math.max(this.mono, t.at));
      this.#timers.delete(t.id);
      t.fn();
    }
    this.#move(end);
  }

  /** Moves both clocks on by `ms` without firing anything: the event loop was stalled. */
  stall(ms: number): void {
    this.#move(this.mono + ms);
  }

  /** Fires the timers that are due now, late if the clock went past them (after `stall`). */
  fireDue(): void {
    for (let t = this.#earliest(); t && t.at <= this.mono; t = this.#earliest()) {
      this.#timers.delete(t.id);
      t.fn();
    }
  }

  runtime(): Runtime {
    const unused = (name: string) => () => {
      throw new Error(`the fake runtime has no ${name}`);
    };
    const base = {
      name: "bun",
      version: "fake",
      pid: 1,
      canSharePorts: false,
      monotonic: this.monotonic,
      now: this.now,
      setTimer: this.setTimer,
      clearTimer: this.clearTimer,
      rss: () => 0,
      processStats: () => ({ cpuSeconds: 0, openFds: null }),
      threadSchedNs: () => null,
    };
    return new Proxy(base, {
      get: (target, key) =>
        key in target ? target[key as keyof typeof target] : unused(String(key)),
    }) as unknown as Runtime;
  }

  #move(to: number): void {
    this.wall += to - this.mono;
    this.mono = to;
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers.values()) if (!best || t.at < best.at) best = t;
    return best;
  }
}
