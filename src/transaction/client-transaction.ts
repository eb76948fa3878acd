/**
 * Client transactions: RFC 3261 §17.1 as amended by RFC 6026.
 *
 * INVITE:     Calling -> Proceeding -> Completed (300-699, Timer D) -> Terminated
 *                     \-> Accepted (2xx, Timer M) -> Terminated
 * non-INVITE: Trying -> Proceeding -> Completed (Timer K) -> Terminated
 */
import type { ActionList, Verdict } from "./actions.ts";
import type { OutgoingRequest, ResponseFacts } from "./facts.ts";
import type { TransactionHost } from "./host.ts";
import type { TimerHandle } from "./timer-queue.ts";
import type { ServerTransaction } from "./server-transaction.ts";
import type { TimerName } from "./timer-values.ts";

export type ClientState =
  | "calling"
  | "trying"
  | "proceeding"
  | "completed"
  | "accepted"
  | "terminated";

export class ClientTransaction<D> {
  readonly role = "client";
  readonly isInvite: boolean;
  readonly method: string;
  /**
   * The branch of its request, for a CANCEL of it (§9.1); "" once a final response came
   * (nothing is cancelled then). Let go, as the request is, because a finished
   * transaction lingers for 32 s and should keep only its key (issue 10).
   */
  get branch(): string {
    return this.#branch;
  }
  #branch: string;
  /** Status of the last response delivered to the TU; 0 before any. */
  lastStatus = 0;
  /** @internal handles in the layer's timer queue (TimerSlot) */
  retransmitTimer: TimerHandle | undefined = undefined;
  /** @internal */
  stateTimer: TimerHandle | undefined = undefined;
  /** @internal deadline of its absorbing state (D, K, M), 0 otherwise: see linger-queue.ts */
  lingerUntil = 0;
  /**
   * The server transaction this one forwards for (a stateful proxy's request and
   * response contexts, RFC 3261 §16): set by the TU, so that a 2xx retransmission that
   * arrives after the TU let go of the call still goes up the same way.
   */
  upstream: ServerTransaction<D> | undefined;
  #state: ClientState;
  #interval = 0;
  #ack: Uint8Array | undefined;
  /** What it sends and retransmits; let go once a final response came (nothing to resend). */
  #request: OutgoingRequest | undefined;
  readonly #host: TransactionHost<D>;

  constructor(
    /** Unique per layer; handy as a log and map key. */
    readonly id: number,
    request: OutgoingRequest,
    /** Where the request goes; opaque, chosen by the caller. */
    readonly dest: D,
    /** Reliable transports (TCP, TLS) get no retransmissions. */
    readonly reliable: boolean,
    /** Matching key, §17.1.3. @internal */
    readonly key: string,
    host: TransactionHost<D>,
  ) {
    this.#request = request;
    this.#host = host;
    this.method = request.method;
    this.#branch = request.branch;
    this.isInvite = request.method === "INVITE";
    this.#state = this.isInvite ? "calling" : "trying";
    if (this.isInvite && request.buildAck === undefined) {
      throw new Error("an INVITE client transaction needs buildAck");
    }
  }

  get state(): ClientState {
    return this.#state;
  }

  /** @internal Only the layer's `finish` ends a transaction. */
  markTerminated(): void {
    this.#state = "terminated";
  }

  /** @internal Sends the request and starts the timers of Calling / Trying. */
  start(now: number, out: ActionList<D>): void {
    this.#send(this.#request!.bytes, out);
    this.#interval = this.#host.armTimer(this, "retransmitTimer", this.isInvite ? "A" : "E", now);
    this.#host.armTimer(this, "stateTimer", this.isInvite ? "B" : "F", now);
  }

  /**
   * @internal "deliver": new information the TU acts on (forward, choose the best
   * response, ...); "absorb": a retransmission or a late response.
   */
  onResponse(r: ResponseFacts, bytes: Uint8Array, now: number, out: ActionList<D>): Verdict {
    return this.isInvite
      ? this.#inviteResponse(r, bytes, now, out)
      : this.#nonInviteResponse(r, now, out);
  }

  #inviteResponse(
    r: ResponseFacts,
    bytes: Uint8Array,
    now: number,
    out: ActionList<D>,
  ): Verdict {
    const st = this.#state;
    if (st === "calling" || st === "proceeding") {
      if (r.status < 200) {
        // Every provisional goes up: a proxy forwards them all (§16.7), and a UAS's
        // periodic 1xx is what keeps the proxy's Timer C from firing.
        if (st === "calling") {
          this.#state = "proceeding";
          this.#host.disarm(this, "retransmitTimer");
          this.#host.disarm(this, "stateTimer"); // Timer B only guards Calling
        }
        return this.#deliver(r);
      }
      this.#host.disarm(this, "retransmitTimer");
      this.#host.disarm(this, "stateTimer");
      if (r.status < 300) {
        // RFC 6026: stay around so that 2xx retransmissions are recognised as ours.
        this.#state = "accepted";
        this.#request = undefined;
        this.#branch = "";
        this.#host.armTimer(this, "stateTimer", "M", now);
        return this.#deliver(r);
      }
      this.#state = "completed";
      this.#ack = this.#request!.buildAck!(r, bytes);
      this.#request = undefined; // Completed resends only the ACK
      this.#branch = "";
      this.#send(this.#ack, out);
      this.#enterOrFinish("D", now, out);
      return this.#deliver(r);
    }
    if (st === "accepted" && r.status >= 200 && r.status < 300) {
      // Every 2xx (retransmission or another fork's) goes to the TU, which forwards it.
      return this.#deliver(r);
    }
    if (st === "completed" && r.status >= 300) {
      this.#send(this.#ack!, out);
    }
    return "absorb";
  }

  #nonInviteResponse(r: ResponseFacts, now: number, out: ActionList<D>): Verdict {
    const st = this.#state;
    if (st !== "trying" && st !== "proceeding") return "absorb";
    if (r.status < 200) {
      this.#state = "proceeding";
      return this.#deliver(r);
    }
    this.#host.disarm(this, "retransmitTimer");
    this.#host.disarm(this, "stateTimer");
    this.#state = "completed";
    this.#request = undefined;
    this.#branch = "";
    this.#enterOrFinish("K", now, out);
    return this.#deliver(r);
  }

  /** @internal Timer A or E: retransmit the request. The layer ends it on its state timers. */
  onRetransmitTimer(name: TimerName, now: number, out: ActionList<D>): void {
    const s = this.#host.settings;
    switch (name) {
      case "A":
        if (this.#state !== "calling") return;
        this.#send(this.#request!.bytes, out);
        this.#interval *= 2; // A doubles without a cap; Timer B ends it
        this.#host.arm(this, "retransmitTimer", "A", this.#interval, now);
        return;
      case "E":
        if (this.#state !== "trying" && this.#state !== "proceeding") return;
        this.#send(this.#request!.bytes, out);
        // In Proceeding the request is only kept alive, at the slowest pace.
        this.#interval = this.#state === "trying" ? Math.min(2 * this.#interval, s.t2) : s.t2;
        this.#host.arm(this, "retransmitTimer", "E", this.#interval, now);
        return;
    }
  }

  /** @internal A send of this transaction failed. */
  onTransportError(out: ActionList<D>): void {
    const st = this.#state;
    // Completed only ever sends an ACK, Accepted nothing; a failed ACK still ends it.
    if (st === "terminated" || st === "accepted" || (st === "completed" && !this.isInvite)) return;
    out.push({ kind: "transport-error", tx: this });
    this.#host.finish(this, out);
  }

  #deliver(r: ResponseFacts): Verdict {
    this.lastStatus = r.status;
    return "deliver";
  }

  /** Enters the absorbing state guarded by `name`, or leaves at once when it lasts 0 ms. */
  #enterOrFinish(name: TimerName, now: number, out: ActionList<D>): void {
    if (this.#host.armTimer(this, "stateTimer", name, now) === 0) this.#host.finish(this, out);
  }

  #send(bytes: Uint8Array, out: ActionList<D>): void {
    out.push({ kind: "send", tx: this, bytes, dest: this.dest });
  }
}
