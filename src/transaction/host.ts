/**
 * The services a transaction state machine gets from the layer that owns it: timers
 * in the shared queue, and removal from the matching maps when it terminates.
 */
import type { Action, Transaction } from "./actions.ts";
import type { TimerName, TimerSettings } from "./timer-values.ts";

/** A transaction runs at most two timers at once: one retransmits, one ends a state. */
export type TimerSlot = "retransmit" | "state";

export interface TransactionHost<D> {
  readonly settings: TimerSettings;
  /** Starts (or restarts) the timer in `slot`, due `delay` ms after `now`. */
  arm(tx: Transaction<D>, slot: TimerSlot, name: TimerName, delay: number, now: number): void;
  disarm(tx: Transaction<D>, slot: TimerSlot): void;
  /** Cancels the timers, forgets the transaction and reports `terminated`. */
  finish(tx: Transaction<D>, out: Action<D, unknown>[]): void;
}
