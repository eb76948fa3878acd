/**
 * Response contexts (RFC 3261 §16.7, after reSIProcate repro's ResponseContext): one per
 * forwarded request, holding its branches. A context tries its next hops one after the
 * other (serial failover): the next hop is tried when the current one sends no response
 * at all within the failover timeout (any method: a BYE to a dead primary must reach
 * the backup before the caller gives up), answers 503 or 408, or fails at the
 * transport. The caller gets the best final answer once every hop is exhausted, and
 * every 2xx at once.
 */
import { buildAck, buildCancel, parseMessage, type SipMessage } from "../sip/index.ts";
import type { Action, ServerTransaction, TransactionLayer } from "../transaction/index.ts";
import { answer, type LocalAnswer, serviceUnavailable } from "./answers.ts";
import { type ForwardPlan, forwardRequest } from "./forward.ts";
import { relayed } from "./overload-control.ts";
import {
  better,
  type Branch,
  type BranchTimer,
  done,
  type ResponseContext,
  type TimerPayload,
} from "./branch.ts";
import type { Hop } from "./router.ts";
import type { Dest } from "./types.ts";

export type { TimerPayload } from "./branch.ts";

const TIMER_C_MS = 181_000; // RFC 3261 §16.8: longer than 3 minutes

/** What the contexts need from the proxy around them. */
export interface ContextEnv {
  readonly txl: TransactionLayer<Dest, TimerPayload>;
  run(actions: Action<Dest, TimerPayload>[], now: number): void;
  respond(stx: ServerTransaction<Dest>, req: SipMessage, a: LocalAnswer, now: number): void;
  failoverTimeoutMs(): number;
  /** 64×T1: how long a CANCELled INVITE may wait for its final answer (§9.1). */
  cancelWaitMs(): number;
  newBranch(hash: string): string;
  /** RFC 7339 parameters for a client's Via that asks for oc (overload-control.ts), or null. */
  upstreamOc(): string | null;
  onForwardFailure?(member: { host: string; port: number }, why: string): void;
  /** A pair member answered 503: it is alive, but the server behind its name may not be. */
  onUnavailable?(member: { host: string; port: number }): void;
  /** A request went to this pair member; `retry`: after an earlier hop failed (failover). */
  onForwarded?(member: { host: string; port: number }, retry: boolean): void;
  /** A pair member sent a response to a request forwarded to it (ha/member-silence.ts). */
  onAnswered?(member: { host: string; port: number }): void;
}

export class ResponseContexts {
  readonly #env: ContextEnv;

  constructor(env: ContextEnv) {
    this.#env = env;
  }

  /** Contexts still waiting for their final answer, by server transaction (CANCEL lookup). */
  readonly #open = new Map<number, ResponseContext>();
  /** Branches whose client transaction is live, by transaction id. */
  readonly #branches = new Map<number, Branch>();

  get open(): number {
    return this.#open.size;
  }

  get liveBranches(): number {
    return this.#branches.size;
  }

  branchOf(txId: number): Branch | undefined {
    return this.#branches.get(txId);
  }

  /** Starts forwarding a request to its hops. */
  start(
    stx: ServerTransaction<Dest>,
    plan: ForwardPlan,
    route: { hops: Hop[]; pair: string | null },
    hash: string,
    now: number,
  ): void {
    const hops = route.hops;
    const ctx: ResponseContext = {
      pair: route.pair,
      stx,
      plan,
      hops,
      next: 0,
      branches: [],
      best: null,
      finalSent: false,
      cancelled: false,
      hash,
    };
    this.#open.set(stx.id, ctx);
    this.#tryNext(ctx, now);
  }

  /** A CANCEL for the context of `stxId` (already answered 200 by the caller). */
  cancel(stxId: number, now: number): void {
    const ctx = this.#open.get(stxId);
    if (!ctx) return;
    ctx.cancelled = true;
    for (const b of ctx.branches) this.#cancelBranch(b, now);
    if (ctx.branches.every(done)) this.#finish(ctx, now);
  }

  /** A send to `to` failed at the transport: every branch waiting on it fails over. */
  transportErrorTo(to: Dest, now: number): void {
    for (const b of [...this.#branches.values()]) {
      const d = b.hop.dest;
      if (!done(b) && d.host === to.host && d.port === to.port && d.transport === to.transport) {
        this.#env.run(this.#env.txl.transportError(b.tx), now);
      }
    }
  }

  /**
   * The HA state declared this member down. An INVITE it answered with a provisional
   * has no failover timer left and would wait for Timer C: try the next hop now. The
   * others keep their own failover timers, so a failover does not become one burst.
   */
  memberDown(member: { host: string; port: number }, now: number): void {
    for (const b of [...this.#branches.values()]) {
      const m = b.hop.member;
      if (b.phase !== "proceeding" || b.tx.method !== "INVITE" || m === null) continue;
      if (m.host === member.host && m.port === member.port) this.failed(b, "member-down", now);
    }
  }

  /**
   * The pair went out of service: whatever still waits on it gets 503 now instead of
   * waiting out its timers. The branches stay as abandoned ones: their transactions
   * absorb late answers, a ringing one is cancelled, and only a 2xx would still go up.
   */
  pairOutOfService(pair: string, now: number): void {
    for (const ctx of [...this.#open.values()]) {
      if (ctx.pair !== pair || ctx.finalSent) continue;
      for (const b of ctx.branches) {
        if (done(b)) continue;
        const ringing = b.phase === "proceeding";
        b.phase = "abandoned";
        this.#clearTimer(b, "failoverTimer");
        this.#clearTimer(b, "timerC");
        // §9.1: a CANCEL only once a provisional came; else its first one sends it.
        if (ringing) this.#sendCancel(b, now);
      }
      ctx.finalSent = true;
      this.#env.respond(ctx.stx, ctx.plan!.request, serviceUnavailable(), now);
      this.#release(ctx);
    }
  }

  /** A response matched to the branch's client transaction. */
  onResponse(b: Branch, res: SipMessage, now: number): void {
    const ctx = b.ctx;
    const status = res.status;
    this.#clearTimer(b, "failoverTimer");
    if (b.hop.member) this.#env.onAnswered?.(b.hop.member);
    if (b.phase === "abandoned") {
      // The call went on without it: a provisional means it rings, so CANCEL it now.
      if (status < 200) return this.#sendCancel(b, now);
      this.#settle(b);
      if (status >= 300) return;
    }
    if (status < 200) {
      if (b.phase === "trying") {
        b.phase = "proceeding";
        if (b.cancel === "pending") this.#cancelBranch(b, now);
      }
      // Each provisional restarts Timer C; once our CANCEL is out, its wait runs instead.
      if (b.tx.method === "INVITE" && b.cancel !== "sent") {
        this.#clearTimer(b, "timerC");
        b.timerC = this.#env.txl.setTimer(now + TIMER_C_MS, { kind: "timer-c", branch: b });
      }
      if (status === 100 || ctx.finalSent) return;
      return this.#sendUp(ctx, res, now);
    }
    this.#settle(b);
    if (status < 300) {
      // Every 2xx goes up at once (§16.7 step 5, RFC 6026), even after another 2xx.
      ctx.finalSent = true;
      for (const other of ctx.branches) if (other !== b) this.#cancelBranch(other, now);
      this.#sendUp(ctx, res, now);
      return this.#release(ctx);
    }
    if (better({ status }, ctx.best)) ctx.best = { status, msg: res };
    if (status >= 600) {
      for (const other of ctx.branches) this.#cancelBranch(other, now);
      return this.#finish(ctx, now);
    }
    if (status === 503 && b.hop.member) this.#env.onUnavailable?.(b.hop.member);
    if ((status === 503 || status === 408) && !ctx.cancelled) return this.#tryNext(ctx, now);
    this.#finish(ctx, now);
  }

  /** A branch gave up (timeout, transport error, failover timer): try the next hop. */
  failed(b: Branch, why: string, now: number): void {
    if (done(b)) return;
    if (why === "transport-error" && b.movedToTcp) {
      // §18.1.1: the TCP attempt of a large request was refused or reset; the member
      // may take UDP only, so it gets the request over UDP before anything counts
      // against it.
      b.phase = "completed";
      this.#clearTimer(b, "failoverTimer");
      // Unless the call has its answer already (another branch's 2xx, out of service):
      // then its copies were let go (#release) and there is nothing left to retry.
      if (b.ctx.plan === null) return this.#clearTimer(b, "timerC");
      return this.#forward(b.ctx, b.ctx.hops[b.hopIndex]!, b.hopIndex, now, true);
    }
    b.phase = why === "failover-timeout" ? "abandoned" : "completed";
    this.#clearTimer(b, "failoverTimer");
    this.#clearTimer(b, "timerC");
    if (b.hop.member) this.#env.onForwardFailure?.(b.hop.member, why);
    const ctx = b.ctx;
    if (better({ status: 408 }, ctx.best)) ctx.best = { status: 408, msg: null };
    this.#tryNext(ctx, now);
  }

  /** One of the timers a branch set. */
  onTimer(p: BranchTimer, now: number): void {
    const b = p.branch;
    if (p.kind === "failover") {
      b.failoverTimer = null;
      // No answer at all in time: this hop is presumed dead; its transaction keeps
      // running so that a late 2xx is still relayed, but the call moves on.
      if (b.phase === "trying") this.failed(b, "failover-timeout", now);
      return;
    }
    if (p.kind === "cancel-wait") {
      // §9.1: no final answer 64×T1 after our CANCEL: the INVITE is given up, so that
      // a member that said 100 and died leaves no transaction and no context behind.
      if (b.phase === "completed") return;
      const ctx = b.ctx;
      b.phase = "completed";
      if (better({ status: 408 }, ctx.best)) ctx.best = { status: 408, msg: null };
      this.#env.run(this.#env.txl.abandon(b.tx), now);
      return this.#tryNext(ctx, now);
    }
    b.timerC = null;
    // §16.8: Timer C fired: CANCEL if a provisional came, else behave as if 408.
    if (b.phase === "proceeding") this.#cancelBranch(b, now);
    else if (b.phase === "trying") this.failed(b, "timer-C", now);
  }

  /** The client transaction of a branch is gone, or a server transaction ended. */
  onTerminated(tx: { role: "client" | "server"; id: number }): void {
    if (tx.role === "server") {
      this.#open.delete(tx.id);
      return;
    }
    const b = this.#branches.get(tx.id);
    if (!b) return;
    this.#branches.delete(tx.id);
    this.#clearTimer(b, "failoverTimer");
    this.#clearTimer(b, "timerC");
  }

  /**
   * A final response came on the branch: its transaction now only absorbs
   * retransmissions (Timers D, K, M) and the branch is let go at once, with the
   * forwarded bytes and, once its last branch goes, the context. A 2xx retransmission
   * still goes up through the transaction's `upstream` (relayLate2xx).
   */
  #settle(b: Branch): void {
    b.phase = "completed";
    this.#clearTimer(b, "timerC");
    this.#branches.delete(b.tx.id);
  }

  /**
   * A 2xx (a retransmission, or another fork's) on a client transaction whose branch
   * was let go: it goes up through the server transaction it was forwarded for, which
   * in Accepted passes 2xx through (RFC 6026).
   */
  relayLate2xx(stx: ServerTransaction<Dest>, res: SipMessage, now: number): void {
    this.#respondWith(stx, res, now);
  }

  /** Forwards to the next hop of the context, or answers when none is left. */
  #tryNext(ctx: ResponseContext, now: number): void {
    if (ctx.finalSent) return;
    if (ctx.cancelled || ctx.next >= ctx.hops.length) return this.#finish(ctx, now);
    const index = ctx.next++;
    this.#forward(ctx, ctx.hops[index]!, index, now, false);
  }

  /** Sends the request to one hop on a new branch (over UDP whatever its size if `keepUdp`). */
  #forward(ctx: ResponseContext, hop: Hop, hopIndex: number, now: number, keepUdp: boolean) {
    const plan = ctx.plan!;
    const branch = this.#env.newBranch(ctx.hash);
    const { dest, bytes } = forwardRequest(plan, hop.dest, branch, keepUdp);
    const method = plan.request.method;
    const { tx, actions } = this.#env.txl.createClient(
      {
        method,
        branch,
        bytes,
        buildAck: method === "INVITE"
          ? (_facts, responseBytes) => buildAck(parseMessage(bytes), parseMessage(responseBytes))
          : undefined,
      },
      dest,
      dest.transport !== "udp",
      now,
    );
    tx.upstream = ctx.stx;
    const b: Branch = {
      ctx,
      hop: { ...hop, dest },
      tx,
      bytes,
      hopIndex,
      movedToTcp: dest.transport !== hop.dest.transport,
      phase: "trying",
      cancel: "none",
      failoverTimer: null,
      timerC: null,
    };
    ctx.branches.push(b);
    this.#branches.set(tx.id, b);
    // Resent over UDP after a refused TCP attempt (keepUdp): the same forward, not counted again.
    if (hop.member && !keepUdp) this.#env.onForwarded?.(hop.member, hopIndex > 0);
    // The last hop of a pair gets the failover timer too: when it is silent as well, the
    // caller hears 408 then (as Kamailio at fr_timer), not after Timer B/F. A plain URI
    // target (an endpoint, a carrier) keeps the RFC's timers.
    if (ctx.next < ctx.hops.length || hop.member !== null) {
      b.failoverTimer = this.#env.txl.setTimer(now + this.#env.failoverTimeoutMs(), {
        kind: "failover",
        branch: b,
      });
    }
    this.#env.run(actions, now);
  }

  #cancelBranch(b: Branch, now: number): void {
    if (b.phase === "completed") return;
    // Nothing heard yet (an abandoned branch has heard nothing either, or its first
    // provisional already sent the CANCEL): owe it until a provisional comes.
    if (b.phase !== "proceeding") {
      if (b.cancel === "none") b.cancel = "pending";
      return;
    }
    this.#sendCancel(b, now);
  }

  #sendCancel(b: Branch, now: number): void {
    if (b.cancel === "sent" || b.tx.method !== "INVITE") return;
    b.cancel = "sent";
    // Reuses the Timer C slot: once the CANCEL is out, Timer C has done its work.
    this.#clearTimer(b, "timerC");
    b.timerC = this.#env.txl.setTimer(now + this.#env.cancelWaitMs(), {
      kind: "cancel-wait",
      branch: b,
    });
    const bytes = buildCancel(parseMessage(b.bytes));
    const { actions } = this.#env.txl.createClient(
      { method: "CANCEL", branch: b.tx.branch, bytes },
      b.hop.dest,
      b.hop.dest.transport !== "udp",
      now,
    );
    this.#env.run(actions, now);
  }

  /** Sends the best final answer once no branch is pending. */
  #finish(ctx: ResponseContext, now: number): void {
    if (ctx.finalSent) return;
    if (!ctx.branches.every(done)) return;
    ctx.finalSent = true;
    this.#answer(ctx, now);
    this.#release(ctx);
  }

  /** The final answer of a context whose branches are all done (§16.7 step 6). */
  #answer(ctx: ResponseContext, now: number): void {
    const best = ctx.best;
    const req = ctx.plan!.request;
    const respond = (a: LocalAnswer) => this.#env.respond(ctx.stx, req, a, now);
    if (ctx.cancelled && (best === null || best.msg === null)) return respond(answer(487));
    if (best === null) return respond(serviceUnavailable());
    if (best.msg === null) return respond(answer(best.status));
    // §16.7 step 6: a 503 from downstream is not passed up; a 500 says the same without
    // suggesting that the client retry through this proxy.
    if (best.status === 503) return respond(answer(500));
    this.#sendUp(ctx, best.msg, now);
  }

  /**
   * After the final answer went up, a context only serves late responses of abandoned
   * branches (relayed through `stx`). Its parsed request and stored responses are let go
   * and it leaves the CANCEL lookup at once, instead of living as long as its
   * transactions (32 s after a call on UDP): at a thousand calls a second that is most
   * of the heap, and a large heap is long GC pauses.
   */
  #release(ctx: ResponseContext): void {
    this.#open.delete(ctx.stx.id);
    ctx.plan = null;
    ctx.best = null;
    ctx.hops = [];
  }

  #sendUp(ctx: ResponseContext, res: SipMessage, now: number): void {
    this.#respondWith(ctx.stx, res, now);
  }

  /**
   * Sends a downstream response up through `stx`, without our Via (§16.7 step 9), and
   * with our overload state in the client's Via when it asks for it.
   */
  #respondWith(stx: ServerTransaction<Dest>, res: SipMessage, now: number): void {
    const bytes = relayed(res, this.#env.upstreamOc());
    const toTag = res.to?.tag ?? undefined;
    this.#env.run(this.#env.txl.respond(stx, { status: res.status, bytes, toTag }, now), now);
  }

  #clearTimer(b: Branch, which: "failoverTimer" | "timerC"): void {
    const h = b[which];
    if (h !== null) {
      this.#env.txl.clearTimer(h);
      b[which] = null;
    }
  }
}
