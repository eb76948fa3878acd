/**
 * The transaction layer: owns every client and server transaction, matches incoming
 * messages to them, runs all their timers in one queue, and caps how many live at once.
 * Pure: time comes in as `now` (ms), effects go out as actions.
 */
import type { Action, ActionList, Transaction } from "./actions.ts";
import { ClientTransaction } from "./client-transaction.ts";
import type { OutgoingRequest, OutgoingResponse, RequestFacts, ResponseFacts } from "./facts.ts";
import type { TimerSlot, TransactionHost } from "./host.ts";
import { clientKey, hasRfc3261Branch, rfc2543AckKey, rfc2543Key, serverKey } from "./keys.ts";
import { LingerQueue } from "./linger-queue.ts";
import { ServerTransaction } from "./server-transaction.ts";
import { type TimerHandle, TimerQueue } from "./timer-queue.ts";
import {
  DEFAULT_TIMER_SETTINGS,
  isTimeout,
  timerDuration,
  type TimerName,
  type TimerSettings,
} from "./timer-values.ts";

export interface TransactionLayerOptions extends Partial<TimerSettings> {
  /** Live transactions (client + server) above which `canCreate` says no. Default 100000. */
  readonly maxTransactions?: number;
}

/** One outcome of an incoming message: its kind, the transaction it matched, the actions. */
interface Matched<K extends string, T, D, U> {
  readonly kind: K;
  readonly tx: T;
  readonly actions: Action<D, U>[];
}

/** What became of an incoming request. */
export type RequestResult<D, U = never> =
  /**
   * No transaction has it: the TU checks `canCreate()` (503 if not), then calls
   * `createServer`. For a CANCEL, `cancelTarget` is the INVITE it cancels, if live.
   */
  | {
    readonly kind: "new";
    readonly cancelTarget: ServerTransaction<D> | undefined;
    readonly actions: Action<D, U>[];
  }
  /** A retransmission (or the ACK of our non-2xx): answered from `actions`, TU not told. */
  | Matched<"absorbed", ServerTransaction<D>, D, U>
  /**
   * An ACK that is the TU's business (it acknowledges a 2xx): forward it statelessly.
   * `tx` is the Accepted INVITE transaction when the ACK matched one (RFC 6026).
   */
  | Matched<"ack", ServerTransaction<D> | undefined, D, U>;

/** What became of an incoming response. */
export type ResponseResult<D, U = never> =
  /** New for the TU: act on it (forward provisional/2xx, keep the best final, ...). */
  | Matched<"response", ClientTransaction<D>, D, U>
  /** A retransmission the transaction handled (e.g. re-sent its ACK); TU not told. */
  | Matched<"absorbed", ClientTransaction<D>, D, U>
  /** No client transaction: the TU processes it statelessly (RFC 3261 §16.7). */
  | { readonly kind: "unmatched"; readonly actions: Action<D, U>[] };

/** A queued timer: one of a transaction's, or one the TU set. */
type Due<D, U> =
  | {
    readonly kind: "tx";
    readonly tx: Transaction<D>;
    readonly name: TimerName;
    readonly slot: TimerSlot;
  }
  | { readonly kind: "user"; readonly payload: U };

/** The absorbing states' timers: fixed duration, never restarted, always end the transaction. */
const LINGER_TIMERS: readonly TimerName[] = ["D", "I", "J", "K", "L", "M"];

function checkPositive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} must be a positive number of ms`);
  }
  return v;
}

export class TransactionLayer<D = unknown, U = unknown> implements TransactionHost<D> {
  readonly settings: TimerSettings;
  readonly maxTransactions: number;
  #queue = new TimerQueue<Due<D, U>>();
  #clients = new Map<string, ClientTransaction<D>>();
  /** RFC 3261 keys, RFC 2543 keys and RFC 2543 ACK keys; their prefixes never collide. */
  #servers = new Map<string, ServerTransaction<D>>();
  #serverCount = 0;
  #nextId = 1;
  #lingeringCount = 0;
  /** The absorbing states' timers, one FIFO per timer (see linger-queue.ts). */
  readonly #lingering = new Map<TimerName, LingerQueue<Transaction<D>>>(
    LINGER_TIMERS.map((name) => [name, new LingerQueue<Transaction<D>>()]),
  );

  constructor(options: TransactionLayerOptions = {}) {
    const d = DEFAULT_TIMER_SETTINGS;
    this.settings = {
      t1: checkPositive("t1", options.t1 ?? d.t1),
      t2: checkPositive("t2", options.t2 ?? d.t2),
      t4: checkPositive("t4", options.t4 ?? d.t4),
      timerD: checkPositive("timerD", options.timerD ?? d.timerD),
    };
    this.maxTransactions = checkPositive("maxTransactions", options.maxTransactions ?? 100_000);
  }

  /** Live client transactions. */
  get clientCount(): number {
    return this.#clients.size;
  }

  /** Live server transactions. */
  get serverCount(): number {
    return this.#serverCount;
  }

  /** Live transactions of both kinds. */
  get size(): number {
    return this.#clients.size + this.#serverCount;
  }

  /** Pending timers, including the TU's and the absorbing states'. */
  get pendingTimers(): number {
    return this.#queue.size + this.lingeringCount;
  }

  /**
   * Live transactions that only absorb retransmissions (their final response is out):
   * Timers D, I, J, K, L, M run. Most of `size` under load.
   */
  get lingeringCount(): number {
    return this.#lingeringCount;
  }

  /**
   * Admission control: whether `count` more transactions fit under the limit. The TU
   * asks before accepting a new request (e.g. `canCreate(2)` for a server transaction
   * and the client transaction it will forward on) and answers 503 when it may not.
   * Creating is never refused, so a request already accepted can always fail over.
   */
  canCreate(count = 1): boolean {
    return this.size + count <= this.maxTransactions;
  }

  // ---- client side ----

  /** Starts a client transaction: its first action sends the request. */
  createClient(
    request: OutgoingRequest,
    dest: D,
    reliable: boolean,
    now: number,
  ): { tx: ClientTransaction<D>; actions: Action<D, U>[] } {
    if (!hasRfc3261Branch(request.branch)) {
      throw new Error(`client branch must start with z9hG4bK: ${request.branch}`);
    }
    const key = clientKey(request.branch, request.method);
    if (this.#clients.has(key)) throw new Error(`client transaction exists: ${request.branch}`);
    const tx = new ClientTransaction<D>(this.#nextId++, request, dest, reliable, key, this);
    this.#clients.set(key, tx);
    const actions: Action<D, U>[] = [];
    tx.start(now, actions);
    return { tx, actions };
  }

  /** Matches a response to its client transaction (§17.1.3) and runs the state machine. */
  receiveResponse(response: ResponseFacts, bytes: Uint8Array, now: number): ResponseResult<D, U> {
    const actions: Action<D, U>[] = [];
    const tx = this.#clients.get(clientKey(response.branch, response.cseqMethod));
    if (tx === undefined) return { kind: "unmatched", actions };
    const verdict = tx.onResponse(response, bytes, now, actions);
    return { kind: verdict === "deliver" ? "response" : "absorbed", tx, actions };
  }

  /** The live client transaction for a branch and method (e.g. the INVITE to CANCEL). */
  findClient(branch: string, method: string): ClientTransaction<D> | undefined {
    return this.#clients.get(clientKey(branch, method));
  }

  // ---- server side ----

  /** Matches a request to a server transaction (§17.2.3); retransmissions are absorbed. */
  receiveRequest(request: RequestFacts, now: number): RequestResult<D, U> {
    const actions: Action<D, U>[] = [];
    if (request.method === "ACK") {
      const tx = this.#findAckTarget(request);
      if (tx === undefined) return { kind: "ack", tx, actions };
      const verdict = tx.onAck(now, actions);
      return verdict === "deliver"
        ? { kind: "ack", tx, actions }
        : { kind: "absorbed", tx, actions };
    }
    const tx = this.#servers.get(this.#serverKey(request));
    if (tx !== undefined) {
      tx.onRetransmission(actions);
      return { kind: "absorbed", tx, actions };
    }
    const cancelTarget = request.method === "CANCEL" ? this.findCancelTarget(request) : undefined;
    return { kind: "new", cancelTarget, actions };
  }

  /**
   * Creates the server transaction for a request `receiveRequest` called "new".
   * Responses will be sent to `dest`. The TU should send 100 Trying for an INVITE
   * right away (§17.2.1), through `respond`.
   */
  createServer(request: RequestFacts, dest: D, reliable: boolean): ServerTransaction<D> {
    if (request.method === "ACK") throw new Error("an ACK never creates a server transaction");
    const key = this.#serverKey(request);
    if (this.#servers.has(key)) {
      throw new Error("server transaction exists; use receiveRequest first");
    }
    const tx = new ServerTransaction<D>(this.#nextId++, request.method, dest, reliable, this);
    tx.key = key;
    this.#servers.set(key, tx);
    if (request.method === "INVITE" && !hasRfc3261Branch(request.branch)) {
      tx.ackKey = rfc2543AckKey(request);
      this.#servers.set(tx.ackKey, tx);
    }
    this.#serverCount++;
    return tx;
  }

  /** Sends a TU response through its server transaction; empty if the state discards it. */
  respond(tx: ServerTransaction<D>, response: OutgoingResponse, now: number): Action<D, U>[] {
    const actions: Action<D, U>[] = [];
    tx.respond(response, now, actions);
    return actions;
  }

  /** The live INVITE server transaction a CANCEL cancels (§9.2), if any. */
  findCancelTarget(cancel: RequestFacts): ServerTransaction<D> | undefined {
    const key = hasRfc3261Branch(cancel.branch)
      ? serverKey(cancel, "INVITE")
      : rfc2543Key(cancel, "INVITE");
    return this.#servers.get(key);
  }

  // ---- both ----

  /** The glue could not send an action of `tx` (ICMP error, connection refused, ...). */
  transportError(tx: Transaction<D>): Action<D, U>[] {
    const actions: Action<D, U>[] = [];
    tx.onTransportError(actions);
    return actions;
  }

  /**
   * The TU gives up on a live client transaction (RFC 3261 §9.1: an INVITE with no
   * final answer 64×T1 after its CANCEL is considered destroyed). It ends at once.
   */
  abandon(tx: ClientTransaction<D>): Action<D, U>[] {
    const actions: Action<D, U>[] = [];
    if (tx.state !== "terminated") this.finish(tx, actions);
    return actions;
  }

  // ---- timers ----

  /** When the glue must call `tick` next; undefined when nothing is pending. */
  nextDeadline(): number | undefined {
    let next = this.#queue.nextDeadline();
    for (const q of this.#lingering.values()) {
      const d = q.nextDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }

  /** Fires every timer due at `now`, earliest first, and returns what they caused. */
  tick(now: number): Action<D, U>[] {
    const actions: Action<D, U>[] = [];
    // Terminates: every re-armed timer is due strictly after `now` (all delays are > 0).
    for (let due = this.#queue.popDue(now); due !== undefined; due = this.#queue.popDue(now)) {
      if (due.kind === "user") {
        actions.push({ kind: "user-timer", payload: due.payload });
        continue;
      }
      due.tx[due.slot] = undefined;
      // A state timer always ends the transaction: B, F and H give up (a timeout for the
      // TU), the others end a state that absorbed retransmissions. Retransmission timers
      // are the state machine's.
      if (due.slot === "stateTimer") this.finish(due.tx, actions, due.name);
      else due.tx.onRetransmitTimer(due.name, now, actions);
    }
    for (const [name, q] of this.#lingering) {
      for (let tx = q.popDue(now); tx !== undefined; tx = q.popDue(now)) {
        this.#lingeringCount--;
        this.finish(tx, actions, name);
      }
    }
    return actions;
  }

  /** A TU timer in the same queue (failover timeout, Timer C, ...): `tick` reports it. */
  setTimer(deadline: number, payload: U): TimerHandle {
    return this.#queue.schedule(deadline, { kind: "user", payload });
  }

  /** Cancels a TU timer; false if it already fired. */
  clearTimer(handle: TimerHandle): boolean {
    return this.#queue.cancel(handle);
  }

  // ---- TransactionHost, used by the state machines ----

  /** @internal */
  arm(tx: Transaction<D>, slot: TimerSlot, name: TimerName, delay: number, now: number): void {
    this.disarm(tx, slot);
    tx[slot] = this.#queue.schedule(now + delay, { kind: "tx", tx, name, slot });
  }

  /** @internal */
  armTimer(tx: Transaction<D>, slot: TimerSlot, name: TimerName, now: number): number {
    const delay = timerDuration(name, tx.reliable, this.settings);
    if (delay <= 0) return delay;
    const lingering = slot === "stateTimer" ? this.#lingering.get(name) : undefined;
    if (lingering === undefined) this.arm(tx, slot, name, delay, now);
    else {
      this.disarm(tx, slot);
      lingering.push(tx, now + delay);
      this.#lingeringCount++;
    }
    return delay;
  }

  /** @internal */
  disarm(tx: Transaction<D>, slot: TimerSlot): void {
    if (slot === "stateTimer" && tx.lingerUntil !== 0) {
      tx.lingerUntil = 0; // its queue entry is stale now
      this.#lingeringCount--;
    }
    const h = tx[slot];
    if (h !== undefined) {
      this.#queue.cancel(h);
      tx[slot] = undefined;
    }
  }

  /** @internal */
  finish(tx: Transaction<D>, out: ActionList<D>, timer?: TimerName): void {
    tx.markTerminated();
    if (timer !== undefined && isTimeout(timer)) out.push({ kind: "timeout", tx, timer });
    this.disarm(tx, "retransmitTimer");
    this.disarm(tx, "stateTimer");
    if (tx.role === "client") {
      if (this.#clients.get(tx.key) === tx) this.#clients.delete(tx.key);
    } else {
      if (this.#servers.get(tx.key) === tx) this.#servers.delete(tx.key);
      const ack = tx.ackKey;
      if (ack !== undefined && this.#servers.get(ack) === tx) this.#servers.delete(ack);
      this.#serverCount--;
    }
    out.push({ kind: "terminated", tx });
  }

  #serverKey(request: RequestFacts): string {
    return hasRfc3261Branch(request.branch) ? serverKey(request) : rfc2543Key(request);
  }

  #findAckTarget(ack: RequestFacts): ServerTransaction<D> | undefined {
    if (hasRfc3261Branch(ack.branch)) return this.#servers.get(serverKey(ack));
    const tx = this.#servers.get(rfc2543AckKey(ack));
    // RFC 2543: the ACK's To tag is the one our final response carried. When the TU did
    // not say which tag it sent, the other five fields have to do.
    if (tx === undefined || (tx.finalToTag !== undefined && tx.finalToTag !== ack.toTag)) {
      return undefined;
    }
    return tx;
  }
}
