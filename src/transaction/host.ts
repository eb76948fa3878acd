/**
 * The services a transaction state machine gets from the layer that owns it: timers
 * in the shared queue, and removal from the matching maps when it terminates.
 */
import type { ActionList, Transaction } from "./actions.ts";
import type { TimerHandle } from "./timer-queue.ts";
import type { TimerName, TimerSettings } from "./timer-values.ts";

/**
 * A transaction runs at most two heap timers at once: one retransmits, one ends a state.
 * The slot names are the transaction's own fields holding the handles (no handle object
 * per transaction: most live transactions are lingering ones, see linger-queue.ts).
 */
export type TimerSlot = "retransmitTimer" | "stateTimer";

/** What a transaction carries for the layer's timers. */
export interface TimerFields {
  retransmitTimer: TimerHandle | undefined;
  stateTimer: TimerHandle | undefined;
}

export interface TransactionHost<D> {
  readonly settings: TimerSettings;
  /** Starts (or restarts) the timer in `slot`, due `delay` ms after `now`. */
  arm(tx: Transaction<D>, slot: TimerSlot, name: TimerName, delay: number, now: number): void;
  /**
   * Starts timer `name` in `slot` for its RFC duration on the transaction's transport
   * (timerDuration) and returns that duration; 0 arms nothing: the state it guards is
   * left at once, or nothing is retransmitted.
   */
  armTimer(tx: Transaction<D>, slot: TimerSlot, name: TimerName, now: number): number;
  disarm(tx: Transaction<D>, slot: TimerSlot): void;
  /**
   * Ends the transaction: marks it terminated, cancels its timers, forgets it and
   * reports `terminated`, after a `timeout` when `timer`, the timer that ended it, is one
   * that gives up (B, F, H).
   */
  finish(tx: Transaction<D>, out: ActionList<D>, timer?: TimerName): void;
}
