/**
 * The services a transaction state machine gets from the layer that owns it: timers
 * in the shared queue, and removal from the matching maps when it terminates.
 */
import type { ActionList, Transaction } from "./actions.ts";
import type { TimerHandle } from "./timer-queue.ts";
import type { TimerName, TimerSettings } from "./timer-values.ts";

/** A transaction runs at most two timers at once: one retransmits, one ends a state. */
export type TimerSlot = "retransmit" | "state";

/** A transaction's handles in the layer's timer queue, one per slot. */
export type TimerHandles = Record<TimerSlot, TimerHandle | undefined>;

/** The handles of a transaction that runs no timer yet. */
export function noTimers(): TimerHandles {
  return { retransmit: undefined, state: undefined };
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
