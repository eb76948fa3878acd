/**
 * What the transaction layer asks its caller to do. The glue performs `send`; the
 * proxy reacts to the others.
 */
import type { ClientTransaction } from "./client-transaction.ts";
import type { ServerTransaction } from "./server-transaction.ts";
import type { TimeoutTimer } from "./timer-values.ts";

export type Transaction<D> = ClientTransaction<D> | ServerTransaction<D>;

/**
 * What became of a message a transaction matched: "deliver" when the TU must act on it
 * (new information), "absorb" when the transaction handled it and the TU must not see it.
 */
export type Verdict = "deliver" | "absorb";

/** The actions produced while handling one input; the layer hands them to its caller. */
export type ActionList<D> = Action<D, unknown>[];

export type Action<D, U = never> =
  /** Put `bytes` on the wire to `dest` (as given when the transaction was created). */
  | {
    readonly kind: "send";
    readonly tx: Transaction<D>;
    readonly bytes: Uint8Array;
    readonly dest: D;
  }
  /**
   * The transaction gave up: Timer B (INVITE) or F (non-INVITE) on a client, the proxy
   * treats it as a 408 from that branch; Timer H on a server, no ACK ever came.
   */
  | { readonly kind: "timeout"; readonly tx: Transaction<D>; readonly timer: TimeoutTimer }
  /** A send reported through `transportError` failed; the TU treats it like a timeout. */
  | { readonly kind: "transport-error"; readonly tx: Transaction<D> }
  /** The transaction is gone from the layer; the TU can drop what it keeps for it. */
  | { readonly kind: "terminated"; readonly tx: Transaction<D> }
  /** A timer the TU set with `setTimer` is due. */
  | { readonly kind: "user-timer"; readonly payload: U };
