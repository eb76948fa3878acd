/**
 * Client transactions: RFC 3261 §17.1 as amended by RFC 6026.
 *
 * INVITE:     Calling -> Proceeding -> Completed (300-699, Timer D) -> Terminated
 *                     \-> Accepted (2xx, Timer M) -> Terminated
 * non-INVITE: Trying -> Proceeding -> Completed (Timer K) -> Terminated
 */
import type { Action } from "./actions.ts";
import type { OutgoingRequest, ResponseFacts } from "./facts.ts";
import type { TimerSlot, TransactionHost } from "./host.ts";
import type { TimerHandle } from "./timer-queue.ts";
import { timerDuration, type TimerName } from "./timer-values.ts";

export type ClientState =
  | "calling"
  | "trying"
  | "proceeding"
  | "completed"
  | "accepted"
  | "terminated";

/** What became of a response handed to a client transaction. */
export type ClientVerdict =
  /** New information: the TU must act on it (forward, choose best response, ...). */
  | "deliver"
  /** A retransmission or a late response; the TU must not see it. */
  | "absorb";

/** Actions produced while handling one input; the layer hands them to its caller. */
type Out<D> = Action<D, unknown>[];

export class ClientTransaction<D> {
  readonly role = "client";
  readonly isInvite: boolean;
  readonly method: string;
  readonly branch: string;
  /** Status of the last response delivered to the TU; 0 before any. */
  lastStatus = 0;
  /** @internal handles in the layer's timer queue */
  readonly timerHandles: Record<TimerSlot, TimerHandle | undefined> = {
    retransmit: undefined,
    state: undefined,
  };
  #state: ClientState;
  #interval = 0;
  #ack: Uint8Array | undefined;
  readonly #request: OutgoingRequest;
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
    this.branch = request.branch;
    this.isInvite = request.method === "INVITE";
    this.#state = this.isInvite ? "calling" : "trying";
    if (this.isInvite && request.buildAck === undefined) {
      throw new Error("an INVITE client transaction needs buildAck");
    }
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The bytes this transaction sends and retransmits. */
  get requestBytes(): Uint8Array {
    return this.#request.bytes;
  }

  /** @internal Sends the request and starts the timers of Calling / Trying. */
  start(now: number, out: Out<D>): void {
    this.#send(this.#request.bytes, out);
    const s = this.#host.settings;
    const first = this.isInvite ? "A" : "E";
    this.#interval = timerDuration(first, this.reliable, s);
    if (this.#interval > 0) this.#arm("retransmit", first, this.#interval, now);
    const timeout = this.isInvite ? "B" : "F";
    this.#arm("state", timeout, timerDuration(timeout, this.reliable, s), now);
  }

  /** @internal */
  onResponse(r: ResponseFacts, bytes: Uint8Array, now: number, out: Out<D>): ClientVerdict {
    return this.isInvite
      ? this.#inviteResponse(r, bytes, now, out)
      : this.#nonInviteResponse(r, now, out);
  }

  #inviteResponse(r: ResponseFacts, bytes: Uint8Array, now: number, out: Out<D>): ClientVerdict {
    const st = this.#state;
    if (st === "calling" || st === "proceeding") {
      if (r.status < 200) {
        // Every provisional goes up: a proxy forwards them all (§16.7), and a UAS's
        // periodic 1xx is what keeps the proxy's Timer C from firing.
        if (st === "calling") {
          this.#state = "proceeding";
          this.#host.disarm(this, "retransmit");
          this.#host.disarm(this, "state"); // Timer B only guards Calling
        }
        return this.#deliver(r);
      }
      this.#host.disarm(this, "retransmit");
      this.#host.disarm(this, "state");
      if (r.status < 300) {
        // RFC 6026: stay around so that 2xx retransmissions are recognised as ours.
        this.#state = "accepted";
        this.#arm("state", "M", timerDuration("M", this.reliable, this.#host.settings), now);
        return this.#deliver(r);
      }
      this.#state = "completed";
      this.#ack = this.#request.buildAck!(r, bytes);
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

  #nonInviteResponse(r: ResponseFacts, now: number, out: Out<D>): ClientVerdict {
    const st = this.#state;
    if (st !== "trying" && st !== "proceeding") return "absorb";
    if (r.status < 200) {
      this.#state = "proceeding";
      return this.#deliver(r);
    }
    this.#host.disarm(this, "retransmit");
    this.#host.disarm(this, "state");
    this.#state = "completed";
    this.#enterOrFinish("K", now, out);
    return this.#deliver(r);
  }

  /** @internal */
  onTimer(name: TimerName, now: number, out: Out<D>): void {
    const s = this.#host.settings;
    switch (name) {
      case "A":
        if (this.#state !== "calling") return;
        this.#send(this.#request.bytes, out);
        this.#interval *= 2; // A doubles without a cap; Timer B ends it
        this.#arm("retransmit", "A", this.#interval, now);
        return;
      case "E":
        if (this.#state !== "trying" && this.#state !== "proceeding") return;
        this.#send(this.#request.bytes, out);
        // In Proceeding the request is only kept alive, at the slowest pace.
        this.#interval = this.#state === "trying" ? Math.min(2 * this.#interval, s.t2) : s.t2;
        this.#arm("retransmit", "E", this.#interval, now);
        return;
      case "B":
      case "F":
        out.push({ kind: "timeout", tx: this, timer: name });
        this.#terminate(out);
        return;
      case "D":
      case "K":
      case "M":
        this.#terminate(out);
        return;
      default:
        return;
    }
  }

  /** @internal A send of this transaction failed. */
  onTransportError(out: Out<D>): void {
    const st = this.#state;
    // Completed only ever sends an ACK, Accepted nothing; a failed ACK still ends it.
    if (st === "terminated" || st === "accepted" || (st === "completed" && !this.isInvite)) return;
    out.push({ kind: "transport-error", tx: this });
    this.#terminate(out);
  }

  #deliver(r: ResponseFacts): ClientVerdict {
    this.lastStatus = r.status;
    return "deliver";
  }

  /** Enters the absorbing state guarded by `name`, or leaves at once when it lasts 0 ms. */
  #enterOrFinish(name: TimerName, now: number, out: Out<D>): void {
    const d = timerDuration(name, this.reliable, this.#host.settings);
    if (d > 0) this.#arm("state", name, d, now);
    else this.#terminate(out);
  }

  #terminate(out: Out<D>): void {
    this.#state = "terminated";
    this.#host.finish(this, out);
  }

  #arm(slot: TimerSlot, name: TimerName, delay: number, now: number): void {
    this.#host.arm(this, slot, name, delay, now);
  }

  #send(bytes: Uint8Array, out: Out<D>): void {
    out.push({ kind: "send", tx: this, bytes, dest: this.dest });
  }
}
