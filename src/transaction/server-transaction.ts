/**
 * Server transactions: RFC 3261 §17.2 as amended by RFC 6026.
 *
 * INVITE:     Proceeding -> Completed (300-699; G, H) -> Confirmed (ACK; I) -> Terminated
 *                        \-> Accepted (2xx; L) -> Terminated
 * non-INVITE: Trying -> Proceeding -> Completed (J) -> Terminated
 */
import type { ActionList, Verdict } from "./actions.ts";
import type { OutgoingResponse } from "./facts.ts";
import type { TransactionHost } from "./host.ts";
import type { TimerHandle } from "./timer-queue.ts";
import type { TimerName } from "./timer-values.ts";

export type ServerState =
  | "trying"
  | "proceeding"
  | "completed"
  | "confirmed"
  | "accepted"
  | "terminated";

export class ServerTransaction<D> {
  readonly role = "server";
  readonly isInvite: boolean;
  /** Status of the last response sent; 0 before any. */
  lastStatus = 0;
  /** To tag of the final response sent; kept only to match RFC 2543 ACKs (ackKey). */
  finalToTag: string | undefined;
  /** @internal handles in the layer's timer queue (TimerSlot) */
  retransmitTimer: TimerHandle | undefined = undefined;
  /** @internal */
  stateTimer: TimerHandle | undefined = undefined;
  /** @internal matching key this transaction is filed under */
  key = "";
  /** @internal the RFC 2543 ACK key of an INVITE without an RFC 3261 branch */
  ackKey: string | undefined = undefined;
  /** @internal deadline of its absorbing state (L, I, J), 0 otherwise: see linger-queue.ts */
  lingerUntil = 0;
  #state: ServerState;
  #interval = 0;
  #lastResponse: Uint8Array | undefined;
  readonly #host: TransactionHost<D>;

  constructor(
    /** Unique per layer; handy as a log and map key. */
    readonly id: number,
    readonly method: string,
    /** Where responses go; opaque, chosen by the caller (RFC 3261 §18.2.2). */
    readonly dest: D,
    /** Reliable transports (TCP, TLS) get no retransmissions. */
    readonly reliable: boolean,
    host: TransactionHost<D>,
  ) {
    this.#host = host;
    this.isInvite = method === "INVITE";
    this.#state = this.isInvite ? "proceeding" : "trying";
  }

  get state(): ServerState {
    return this.#state;
  }

  /** @internal Only the layer's `finish` ends a transaction. */
  markTerminated(): void {
    this.#state = "terminated";
  }

  /** The response that a retransmitted request is answered with, if any. */
  get lastResponse(): Uint8Array | undefined {
    return this.#lastResponse;
  }

  /** @internal A retransmission of the request arrived: answer it, never tell the TU. */
  onRetransmission(out: ActionList<D>): void {
    const st = this.#state;
    // Confirmed and Accepted absorb silently: in Accepted the 2xx retransmissions of the
    // UAS, passed through by the TU, are what answers the UAC (RFC 6026).
    if (st === "proceeding" || st === "completed") {
      if (this.#lastResponse !== undefined) this.#send(this.#lastResponse, out);
    }
  }

  /**
   * @internal An ACK matched this INVITE transaction. "absorb": the ACK of our non-2xx
   * final, hop-by-hop, ends here; "deliver": in Accepted it acknowledges a 2xx and
   * belongs to the TU, which forwards it (RFC 6026).
   */
  onAck(now: number, out: ActionList<D>): Verdict {
    if (this.#state === "accepted") return "deliver";
    if (this.#state === "completed") {
      this.#host.disarm(this, "retransmitTimer");
      this.#host.disarm(this, "stateTimer");
      this.#state = "confirmed";
      this.#lastResponse = undefined; // Confirmed absorbs ACKs silently
      this.#enterOrFinish("I", now, out);
    }
    return "absorb";
  }

  /** No final response sent yet: the TU may still answer (or forward) the request. */
  get awaitsFinal(): boolean {
    return this.#state === "trying" || this.#state === "proceeding";
  }

  /** @internal The TU sends a response. Returns false when the state discards it. */
  respond(r: OutgoingResponse, now: number, out: ActionList<D>): boolean {
    const st = this.#state;
    const isFinal = r.status >= 200;
    const is2xx = isFinal && r.status < 300;
    if (st === "accepted") {
      // RFC 6026: the TU's 2xx retransmissions pass through; nothing else does.
      if (!this.isInvite || !is2xx) return false;
      this.lastStatus = r.status;
      this.#send(r.bytes, out);
      return true;
    }
    if (!this.awaitsFinal) return false;
    this.#record(r);
    this.#send(r.bytes, out);
    if (!isFinal) {
      this.#state = "proceeding";
      return true;
    }
    if (r.toTag !== undefined && this.ackKey !== undefined) this.finalToTag = r.toTag;
    if (!this.isInvite) {
      this.#state = "completed";
      this.#enterOrFinish("J", now, out);
    } else if (is2xx) {
      // Accepted answers nothing itself (the UAS's 2xx retransmissions do): the bytes
      // are not kept for the 32 s it lingers.
      this.#lastResponse = undefined;
      this.#state = "accepted";
      this.#host.armTimer(this, "stateTimer", "L", now);
    } else {
      this.#state = "completed";
      this.#interval = this.#host.armTimer(this, "retransmitTimer", "G", now);
      this.#host.armTimer(this, "stateTimer", "H", now);
    }
    return true;
  }

  /** @internal Timer G: retransmit the final response. The layer ends it on its state timers. */
  onRetransmitTimer(name: TimerName, now: number, out: ActionList<D>): void {
    if (name !== "G" || this.#state !== "completed") return;
    this.#send(this.#lastResponse!, out);
    this.#interval = Math.min(2 * this.#interval, this.#host.settings.t2);
    this.#host.arm(this, "retransmitTimer", "G", this.#interval, now);
  }

  /** @internal A send of this transaction failed. */
  onTransportError(out: ActionList<D>): void {
    const st = this.#state;
    if (st === "terminated" || st === "confirmed") return;
    out.push({ kind: "transport-error", tx: this });
    // RFC 6026: Accepted stays, so INVITE retransmissions are still absorbed.
    if (st !== "accepted") this.#host.finish(this, out);
  }

  #record(r: OutgoingResponse): void {
    this.lastStatus = r.status;
    this.#lastResponse = r.bytes;
  }

  /** Enters the absorbing state guarded by `name`, or leaves at once when it lasts 0 ms. */
  #enterOrFinish(name: TimerName, now: number, out: ActionList<D>): void {
    if (this.#host.armTimer(this, "stateTimer", name, now) === 0) this.#host.finish(this, out);
  }

  #send(bytes: Uint8Array, out: ActionList<D>): void {
    out.push({ kind: "send", tx: this, bytes, dest: this.dest });
  }
}
