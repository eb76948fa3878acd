/**
 * The RFC 3261 §16 proxy: transaction-stateful, dialog-stateless, pure.
 *
 * Inputs: bytes with their source (`onMessage`), transport failures (`onSendError`),
 * members declared down (`onMemberDown`) and the passing of time (`tick`). Output:
 * bytes to send, through `ProxyOutput`. It never opens a socket or reads a clock; the
 * glue calls `tick(now)` at `nextDeadline()`.
 *
 * This file dispatches: a request is validated, gets a server transaction, is routed
 * and handed to a response context (response-context.ts), which forwards it hop after
 * hop and chooses the answer; a response is matched to its branch. The edits of a
 * forwarded request are forward.ts, loop detection loop.ts, Route preprocessing
 * route-preprocess.ts, the routing step request-routing.ts, vipless's own answers
 * responder.ts and answers.ts, RFC 7339 overload control overload-control.ts. A request
 * for a name whose RFC 3263 targets are not known yet waits in parked-requests.ts until
 * the glue's lookup comes back (`onLocated`).
 */
import {
  derivedToTag,
  parseMessage,
  requestRejection,
  responseRejection,
  type SipMessage,
  SipParseError,
} from "../sip/index.ts";
import { type Action, TransactionLayer } from "../transaction/index.ts";
import { answer, type LocalAnswer, serviceUnavailable, shed } from "./answers.ts";
import { DelayedTrying } from "./delayed-trying.ts";
import { isLooped, newBranch, PROBE_BRANCH_PREFIX, requestLoopHash } from "./loop.ts";
import { InviteRateLimiter } from "./overload.ts";
import {
  MemberThrottles,
  OverloadSignal,
  relayed,
  SIGNAL_DEFAULTS,
  throttleable,
} from "./overload-control.ts";
import type { Located } from "../dns/locate.ts";
import { type Parked, ParkedRequests } from "./parked-requests.ts";
import { Responder } from "./responder.ts";
import { ResponseContexts, type TimerPayload } from "./response-context.ts";
import { type DecodedRouting, RequestRouting } from "./request-routing.ts";
import type { RouteDecision, Router } from "./router.ts";
import type { ForwardPlan } from "./forward.ts";
import type { ServerTransaction } from "../transaction/index.ts";
import type { Dest, ProxyOutput, ProxySettings, Source } from "./types.ts";
import type { ProxyHooks } from "./hooks.ts";
import { requestFacts, responseFacts } from "./transaction-facts.ts";
import { hasUpstreamVia, nextViaDest, senderOf, upstreamDest } from "./upstream.ts";

/** Proxy-Require option tags we support: none (RFC 3261 §16.3 step 5). */
const SUPPORTED = new Set<string>();

export class ProxyCore {
  readonly txl: TransactionLayer<Dest, TimerPayload>;
  #settings: ProxySettings;
  readonly #out: ProxyOutput;
  readonly #hooks: ProxyHooks;
  readonly #routing: RequestRouting;
  #router: Router;
  /** Requests waiting for their target's name to be located. */
  readonly #parked: ParkedRequests;
  readonly #contexts: ResponseContexts;
  readonly #responder: Responder<TimerPayload>;
  readonly #trying: DelayedTrying;
  readonly #limiter: InviteRateLimiter;
  /** RFC 7339: what we tell oc clients, and what members told us. */
  readonly #signal: OverloadSignal;
  readonly #busy = () => this.#hooks.busy?.() ?? null;
  readonly #saturated = () => this.#hooks.saturated?.() ?? false;
  readonly #throttles: MemberThrottles;
  readonly #instance: string;
  readonly #random: () => number;

  constructor(
    settings: ProxySettings,
    router: Router,
    out: ProxyOutput,
    hooks: ProxyHooks,
    random: () => number = Math.random,
  ) {
    this.#settings = settings;
    this.#router = router;
    this.#out = out;
    this.#hooks = hooks;
    this.#random = random;
    this.#instance = Math.floor(random() * 36 ** 4).toString(36).padStart(4, "0") + ".";
    this.#limiter = new InviteRateLimiter(settings.maxInviteRate);
    this.#signal = new OverloadSignal(
      { ...SIGNAL_DEFAULTS, seqOffsetMs: settings.ocSeqOffsetMs ?? 0 },
      random,
    );
    this.#throttles = new MemberThrottles(random);
    const oc = () => this.#signal.params();
    const txl = this.txl = new TransactionLayer({
      t1: settings.t1Ms,
      maxTransactions: settings.maxTransactions,
    });
    this.#parked = new ParkedRequests(txl);
    const run = (actions: Action<Dest, TimerPayload>[], now: number) => this.#run(actions, now);
    this.#responder = new Responder(txl, out, hooks, run, settings.userAgent);
    this.#responder.oc = oc;
    this.#trying = new DelayedTrying(this.#responder);
    this.#contexts = new ResponseContexts({
      txl,
      run,
      respond: (stx, req, a, now) => this.#responder.local(stx, req, a, now),
      failoverTimeoutMs: () => this.#settings.failoverTimeoutMs,
      cancelWaitMs: () => 64 * this.#settings.t1Ms,
      newBranch: (hash) => newBranch(hash, this.#instance),
      upstreamOc: oc,
      onForwardFailure: (member, why) => this.#hooks.onForwardFailure?.(member, why),
      onUnavailable: (member) => this.#hooks.onUnavailable?.(member),
      onForwarded: (member, retry) => this.#hooks.onForwarded?.(member, retry),
      onAnswered: (member) => this.#hooks.onAnswered?.(member),
    });
    this.#routing = new RequestRouting(settings, router, this.#responder, out);
  }

  reconfigure(settings: ProxySettings, router: Router): void {
    this.#settings = settings;
    this.#router = router;
    this.#routing.reconfigure(settings, router);
    this.#limiter.rate = settings.maxInviteRate;
    this.#responder.userAgent = settings.userAgent;
  }

  get liveTransactions(): number {
    return this.txl.size;
  }

  /** Requests waiting for a DNS lookup of their target (RFC 3263), and the names looked up. */
  get parked(): { requests: number; names: number } {
    return { requests: this.#parked.size, names: this.#parked.names };
  }

  /** Response contexts waiting for a final answer, and branches with a live transaction. */
  get liveContexts(): { open: number; branches: number } {
    return { open: this.#contexts.open, branches: this.#contexts.liveBranches };
  }

  nextDeadline(): number | undefined {
    const tx = this.txl.nextDeadline() ?? Infinity;
    const at = Math.min(tx, this.#trying.nextDeadline() ?? Infinity);
    return at === Infinity ? undefined : at;
  }

  tick(now: number): void {
    this.#trying.tick(now);
    this.#run(this.txl.tick(now), now);
  }

  // ---------------------------------------------------------------- input

  onMessage(bytes: Uint8Array, src: Source, now: number): void {
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, {
        maxBytes: this.#settings.maxMessageBytes,
        stream: src.transport !== "udp",
      });
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return this.#onUnparseable(e, src);
    }
    try {
      if (msg.isRequest) this.#onRequest(msg, src, now);
      else this.#onResponse(msg, src, now);
    } catch (e) {
      // A lazily decoded header that turns out malformed surfaces here.
      if (!(e instanceof SipParseError)) throw e;
      if (msg.isRequest && msg.method !== "ACK") {
        this.#responder.stateless(msg, src, answer(e.status, e.message));
      } else this.#responder.drop(msg.isRequest ? "malformed-request" : "malformed-response");
    }
  }

  /** A send to `to` failed at the transport: every branch waiting on it fails over. */
  onSendError(to: Dest, now: number): void {
    this.#contexts.transportErrorTo(to, now);
  }

  /**
   * The lookup `ProxyOutput.locate` was asked for ended: its targets (or nothing) are
   * kept for their TTL, and every request parked on the name goes on. A lookup that
   * failed (no DNS server answered, too many lookups) says nothing of the name: its
   * requests get 503, so that the caller may try elsewhere, and nothing is kept.
   */
  onLocated(key: string, found: Located | Error, now: number): void {
    if (!(found instanceof Error)) this.#router.targets.store(key, found, now);
    for (const p of this.#parked.take(key)) {
      if (!p.stx.awaitsFinal) continue;
      const req = p.plan.request;
      if (found instanceof Error) {
        this.#responder.local(p.stx, req, serviceUnavailable(), now);
        continue;
      }
      // Each request its own draw of the SRV weights, when the result is kept.
      const targets = this.#router.targets.get(key, now) ?? found.targets;
      const decision = this.#router.located(p.query, targets, p.consumedXGenesysRoute);
      try {
        this.#dispatch(p.stx, p.plan, decision, p.hash, now);
      } catch (e) {
        this.#failed(p.stx, req, e, now);
      }
    }
  }

  /** The HA state declared this member down: INVITEs ringing on it move on now. */
  onMemberDown(member: { host: string; port: number }, now: number): void {
    this.#contexts.memberDown(member, now);
  }

  /** The HA state took this pair out of service: requests waiting on it get 503 now. */
  onPairOutOfService(pair: string, now: number): void {
    this.#contexts.pairOutOfService(pair, now);
  }

  #onUnparseable(e: SipParseError, src: Source): void {
    const partial = e.partial;
    if (e.drop || partial === null || !partial.isRequest || partial.method === "ACK") {
      const isResponse = partial !== null && !partial.isRequest;
      return this.#responder.drop(isResponse ? "malformed-response" : "malformed-request");
    }
    this.#responder.stateless(partial, src, answer(e.status, e.message));
  }

  // ------------------------------------------------------------- requests

  #onRequest(req: SipMessage, src: Source, now: number): void {
    const method = req.method;
    this.#hooks.onRequest?.(method);
    this.#signal.observe(now, this.#saturated, this.#busy);
    const rejection = requestRejection(req, SUPPORTED);
    if (rejection && !(rejection.status === 483 && method === "OPTIONS")) {
      if (method === "ACK") return this.#responder.drop("malformed-request");
      return this.#responder.stateless(
        req,
        src,
        answer(rejection.status, rejection.reason, rejection.headers),
      );
    }
    if (method === "OPTIONS" && (rejection !== null || this.#routing.self.isAddressedToUs(req))) {
      return this.#responder.options(req, src, this.#hooks.servedPairReady());
    }
    const sender = senderOf(req, src);
    const fromMember = this.#hooks.isMember(sender);
    // The error boundary: everything routing decodes is decoded here, while no state
    // exists (no transaction, no 100, no HA change), so a malformed header costs one
    // stateless 400 and nothing stays behind. A retransmission gets the same answer.
    let decoded: DecodedRouting | null = null;
    if (method !== "CANCEL") {
      decoded = this.#routing.decode(req, src, fromMember);
      if (decoded === null) return;
    }
    if (method !== "OPTIONS" && method !== "ACK") this.#hooks.onRequestFrom?.(sender, method);

    const facts = requestFacts(req);
    const r = this.txl.receiveRequest(facts, now);
    this.#run(r.actions, now);
    if (r.kind === "absorbed") return this.#trying.retransmitted(r.tx, req, now);
    if (r.kind === "ack") {
      // The ACK of one of our stateless answers (a 503 while overloaded, a 400) ends
      // here, as with Kamailio's sl_filter_ACK: no one downstream saw that request.
      if (r.tx === undefined && req.to?.tag === derivedToTag(req)) return;
      return this.#routing.forwardStateless(req, src, decoded!, fromMember, now);
    }

    if (!this.txl.canCreate(2)) {
      this.#hooks.onOverload?.("transactions");
      return this.#responder.stateless(req, src, serviceUnavailable());
    }
    if (method === "INVITE" && !req.to?.tag && !this.#signal.admits(now)) {
      // The share of new calls refused while saturated (call-admission.ts). Refused
      // early and cheaply, before a transaction or a 100 Trying, so that the calls
      // already accepted (their ACKs, BYEs, CANCELs, re-INVITEs: anything with a
      // To tag is in a dialog) keep the capacity.
      this.#hooks.onOverload?.("saturated");
      return this.#responder.stateless(req, src, shed());
    }
    if (method === "CANCEL" && !r.cancelTarget) {
      // §16.10: no response context to apply it to: forward the CANCEL statelessly.
      const cancelRouting = this.#routing.decode(req, src, fromMember);
      if (cancelRouting !== null) {
        this.#routing.forwardStateless(req, src, cancelRouting, fromMember, now);
      }
      return;
    }
    const stx = this.txl.createServer(
      facts,
      upstreamDest(req.topVia!, src),
      src.transport !== "udp",
    );
    const respond = (a: LocalAnswer) => this.#responder.local(stx, req, a, now);
    // Once the transaction exists every failure answers through it (#failed).
    try {
      if (method === "CANCEL") {
        // §9.2, §16.10: answered 200 even when the INVITE already has its final answer.
        respond(answer(200));
        const target = r.cancelTarget!;
        const parked = this.#parked.remove(target.id);
        // An INVITE still waiting for its target's lookup was sent nowhere: it ends here.
        if (parked) return this.#responder.local(target, parked.plan.request, answer(487), now);
        return this.#contexts.cancel(target.id, now);
      }
      if (method === "INVITE") {
        this.#trying.defer(stx, req, now, this.#settings.t1Ms, this.#signal.loss > 0);
        if (this.#limiter.exceeded(now)) {
          this.#hooks.onOverload?.("invite-rate");
          return respond(serviceUnavailable());
        }
      }
      const hash = requestLoopHash(req, req.topVia);
      if (isLooped(req, this.#routing.self)) return respond(answer(482));
      const { decision, plan } = this.#routing.decide(req, src, decoded!, fromMember, now);
      if (decision.kind === "locate") {
        const { query, key, consumedXGenesysRoute } = decision;
        const p: Parked = { stx, plan, hash, query, key, consumedXGenesysRoute };
        const parked = this.#out.locate ? this.#parked.park(p, now) : "full";
        if (parked === "first") this.#out.locate!(query, key);
        if (parked !== "full") return;
        this.#hooks.onOverload?.("dns-parked");
        return respond(serviceUnavailable());
      }
      this.#dispatch(stx, plan, decision, hash, now);
    } catch (e) {
      this.#failed(stx, req, e, now);
    }
  }

  /** A parked request's lookup did not end in time: 503, as for a lookup that failed. */
  #parkExpired(stxId: number, now: number): void {
    const p = this.#parked.remove(stxId);
    if (!p) return;
    if (!p.stx.awaitsFinal) return;
    this.#responder.local(p.stx, p.plan.request, serviceUnavailable(), now);
  }

  /** A routed request: answered when it cannot go on, else forwarded to its hops. */
  #dispatch(
    stx: ServerTransaction<Dest>,
    plan: ForwardPlan,
    decision: RouteDecision,
    hash: string,
    now: number,
  ): void {
    const req = plan.request;
    if (decision.kind === "reject") {
      return this.#responder.local(stx, req, answer(decision.status, decision.reason), now);
    }
    if (decision.kind !== "forward") {
      return this.#responder.local(stx, req, serviceUnavailable(), now);
    }
    const member = decision.hops[0]?.member;
    if (
      member && this.#throttles.size > 0 && !this.#throttles.admits(member, now, throttleable(req))
    ) {
      // RFC 7339 §5.10, §7.2: the member asked for less; we refuse on its behalf. Not a
      // failure of the member: nothing of this reaches its health.
      this.#hooks.onOverload?.("member-oc");
      return this.#responder.local(stx, req, shed(), now);
    }
    this.#contexts.start(stx, plan, decision, hash, now);
  }

  /**
   * Once the transaction exists every failure answers through it, so that it ends on
   * the RFC's timers; a bug still surfaces after that.
   */
  #failed(stx: ServerTransaction<Dest>, req: SipMessage, e: unknown, now: number): void {
    if (stx.awaitsFinal) {
      const a = e instanceof SipParseError ? answer(400, e.message) : answer(500);
      this.#responder.local(stx, req, a, now);
    }
    if (!(e instanceof SipParseError)) throw e;
  }

  // --------------------------------------------------------------- responses

  #onResponse(res: SipMessage, src: Source, now: number): void {
    if (responseRejection(res) !== null) return this.#responder.drop("invalid-response");
    const via = res.topVia!;
    if (!this.#routing.self.isSelfSentBy(via.host, via.port)) {
      return this.#responder.drop("via-not-ours");
    }
    const branch = via.branch ?? "";
    if (branch.startsWith(PROBE_BRANCH_PREFIX)) {
      return this.#hooks.onProbeResponse?.(branch, res.status, src);
    }
    if (!hasUpstreamVia(res)) return this.#responder.drop("invalid-response");
    // Responses to what we forwarded only: probe answers and dropped ones count elsewhere.
    this.#hooks.onResponse?.(res.status);
    const facts = responseFacts(res, branch);
    const r = this.txl.receiveResponse(facts, res.bytes, now);
    // Look the branch up before running the actions: on a reliable transport a final
    // response ends the client transaction at once (Timer D/K are 0), and its
    // "terminated" action forgets the branch.
    const b = r.kind === "response" ? this.#contexts.branchOf(r.tx.id) : undefined;
    const member = b?.hop.member;
    // Our Via offers oc (a bare `oc`, echoed back by every member): only a value says
    // something, a pair member's RFC 7339 answer: how much less it wants from us.
    if (member && via.params.get("oc") != null) {
      const change = this.#throttles.onAnswer(member, via.params, now);
      if (change !== null) this.#hooks.onMemberOverloadControl?.(member, change);
    }
    this.#run(r.actions, now);
    if (r.kind === "absorbed") return;
    if (r.kind === "unmatched") {
      // §16.7 / §16.11: no transaction (e.g. a 2xx retransmission after ours ended, or a
      // response to a stateless request): remove our Via and send it up along the next.
      const vias = res.vias;
      if (vias.length < 2) return this.#responder.drop("via-not-ours");
      this.#out.send(relayed(res, this.#signal.params()), nextViaDest(vias[1]!));
      return;
    }
    if (b) return this.#contexts.onResponse(b, res, now);
    // No branch: a 2xx on a transaction whose call already went up (relayed through its
    // server transaction), or a response to one of our CANCELs (it ends there).
    const stx = r.tx.upstream;
    if (stx && res.status >= 200 && res.status < 300) this.#contexts.relayLate2xx(stx, res, now);
  }

  // ------------------------------------------------------------------ actions

  #run(actions: Action<Dest, TimerPayload>[], now: number): void {
    for (const a of actions) {
      switch (a.kind) {
        case "send":
          this.#out.send(a.bytes, a.dest);
          break;
        case "timeout":
        case "transport-error": {
          if (a.tx.role !== "client") break;
          const b = this.#contexts.branchOf(a.tx.id);
          const why = a.kind === "timeout" ? `timer-${a.timer}` : "transport-error";
          if (b) this.#contexts.failed(b, why, now);
          break;
        }
        case "terminated":
          this.#contexts.onTerminated(a.tx);
          break;
        case "user-timer":
          if (a.payload.kind === "parked") this.#parkExpired(a.payload.stxId, now);
          else this.#contexts.onTimer(a.payload, now);
          break;
      }
    }
  }
}
