/**
 * The one runtime timer behind the proxy's transactions and the prober: armed for the
 * earliest deadline either has, re-armed after every event that can move a deadline.
 * Keeping to one timer means a burst of messages costs at most one clear and one set.
 */
import type { Runtime, TimerHandle } from "../runtime/types.ts";

/**
 * A tick that runs more than this late means the event loop stalled (a GC pause, a
 * busy machine); see `fire`.
 */
export const STALL_MS = 50;
/** Runtimes clamp long timers differently; a minute is short enough for all of them. */
export const MAX_TIMER_MS = 60_000;

export type TimerClock = Pick<Runtime, "monotonic" | "setTimer" | "clearTimer">;

export class WakeTimer {
  readonly #clock: TimerClock;
  readonly #nextDeadline: () => number;
  readonly #tick: (now: number) => void;
  #timer: TimerHandle | null = null;
  /** The deadline the timer is set for (Infinity when none is). */
  #armedAt = Infinity;
  #postponed = false;
  #stopped = false;

  /**
   * `nextDeadline` is the earliest monotonic time anything is due (Infinity: nothing);
   * `tick` does what is due and must leave no deadline at or before `now`.
   */
  constructor(clock: TimerClock, nextDeadline: () => number, tick: (now: number) => void) {
    this.#clock = clock;
    this.#nextDeadline = nextDeadline;
    this.#tick = tick;
  }

  /** After anything that may have pulled a deadline in: set the timer earlier if needed. */
  arm(): void {
    if (this.#stopped) return;
    const now = this.#clock.monotonic();
    const at = this.#nextDeadline();
    // A later or equal deadline is served by the timer already set: it re-arms on firing.
    if (at >= this.#armedAt && this.#timer !== null) return;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#armedAt = at;
    const ms = Math.max(0, Math.min(at - now, MAX_TIMER_MS));
    this.#timer = this.#clock.setTimer(ms, () => this.fire());
  }

  /**
   * Runs what is due, then re-arms. When the timer fires much later than it was due,
   * the event loop was stalled and answers may be waiting, unread, in the socket
   * buffers. Judging timeouts now would blame members for our own pause (a false
   * failover, a member marked down), so the tick is put off once by a millisecond: the
   * runtime polls the sockets in between and those answers are read first.
   */
  fire(): void {
    const dueAt = this.#armedAt;
    this.#timer = null;
    this.#armedAt = Infinity;
    if (this.#stopped) return;
    const now = this.#clock.monotonic();
    if (!this.#postponed && now - dueAt > STALL_MS) {
      this.#postponed = true;
      this.#armedAt = now + 1;
      this.#timer = this.#clock.setTimer(1, () => this.fire());
      return;
    }
    this.#postponed = false;
    this.#tick(now);
    this.arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }
}
