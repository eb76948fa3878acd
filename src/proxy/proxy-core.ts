/**
 * The RFC 3261 §16 proxy: transaction-stateful, dialog-stateless, pure.
 *
 * Inputs: bytes with their source (`onMessage`), transport failures (`onSendError`)
 * and the passing of time (`tick`). Output: bytes to send, through `ProxyOutput`.
 * It never opens a socket or reads a clock; the glue calls `tick(now)` at
 * `nextDeadline()`.
 *
 * One inbound request gets a server transaction and a response context; the context
 * forwards to the routing's hops one after the other (serial failover): the next hop
 * is tried when the current one sends no response at all within the failover timeout
 * (any method: a BYE to a dead primary must reach the backup before the caller gives
 * up), answers 503 or 408, or fails at the transport. The client gets the best final
 * answer once every hop is exhausted (§16.7), every 2xx at once.
 */
import {
  buildAck,
  buildCancel,
  buildResponse,
  MessageEditor,
  parseMessage,
  parseUri,
  requestRejection,
  responseRejection,
  type SipMessage,
  SipParseError,
  type SipUri,
  type Via,
} from "../sip/index.ts";
import {
  type Action,
  type ClientTransaction,
  type RequestFacts,
  type ResponseFacts,
  type ServerTransaction,
  TransactionLayer,
} from "../transaction/index.ts";
import { hashOfBranch, loopHash, newBranch, PROBE_BRANCH_PREFIX } from "./loop.ts";
import type { Hop, RouteDecision, Router } from "./router.ts";
import { SelfAddresses } from "./self.ts";
import type { Dest, DropReason, ProxyOutput, ProxySettings, Source } from "./types.ts";

/** Proxy-Require option tags we support: none (RFC 3261 §16.3 step 5). */
const SUPPORTED = new Set<string>();
const DIALOG_CREATING = new Set(["INVITE", "SUBSCRIBE", "REFER", "NOTIFY"]);
/** RFC 3261 §16.8: Timer C, longer than 3 minutes. */
const TIMER_C_MS = 181_000;
/** Above this size a request leaves over TCP, not UDP (RFC 3261 §18.1.1). */
const UDP_MTU_LIMIT = 1300;
const RETRY_AFTER_S = 5;

export interface ProxyHooks {
  /** A request arrived (before any check), for per-method counters. */
  onRequest?(method: string): void;
  /** A response arrived, for per-class counters. */
  onResponse?(status: number): void;
  onDrop?(reason: DropReason): void;
  /** vipless answered a request itself with this status. */
  onLocalResponse?(status: number): void;
  /** A request (other than OPTIONS) arrived from this address: may be a pair member taking over. */
  onRequestFrom?(src: Source, method: string): void;
  /** True when the source is a member of a pair (a SIP server), decided after onRequestFrom. */
  isMember(src: Source): boolean;
  /** A forwarded request failed at a pair member (timeout or transport error). */
  onForwardFailure?(member: { host: string; port: number }, why: string): void;
  /** An answer to one of our OPTIONS probes. */
  onProbeResponse?(branch: string, status: number): void;
  /** True while the served pair has an active member (OPTIONS to vipless: 200, else 503). */
  servedPairReady(): boolean;
}

type TimerPayload =
  | { kind: "failover"; branch: Branch }
  | { kind: "timer-c"; branch: Branch };

interface Branch {
  ctx: Context;
  hop: Hop;
  tx: ClientTransaction<Dest>;
  bytes: Uint8Array;
  gotResponse: boolean;
  gotProvisional: boolean;
  done: boolean;
  /** A CANCEL is owed as soon as a provisional arrives (§9.1: never before one). */
  cancelPending: boolean;
  cancelSent: boolean;
  /**
   * Given up on by the failover timer while its transaction still runs: the call went
   * on to the next hop, so this one is cancelled as soon as it answers (else the member
   * would ring a second destination), and only a 2xx from it still reaches the caller.
   */
  abandoned: boolean;
  failoverTimer: unknown;
  timerC: unknown;
}

interface Context {
  stx: ServerTransaction<Dest>;
  /** The request as received; null once the final answer went up (memory: see #release). */
  request: SipMessage | null;
  source: Source;
  hops: Hop[];
  next: number;
  branches: Branch[];
  best: { status: number; msg: SipMessage | null } | null;
  finalSent: boolean;
  cancelled: boolean;
  hash: string;
  routeDecision: RouteDecision & { kind: "forward" };
  popRoutes: number;
  newRequestUri: string | null;
}

function viaTransport(t: string): "udp" | "tcp" {
  return t === "tcp" ? "tcp" : "udp";
}

/** Where the responses to a request go (RFC 3261 §18.2.2 with RFC 3581 rport). */
export function upstreamDest(via: Via, src: Source): Dest {
  if (src.transport !== "udp") {
    return { transport: src.transport, host: src.host, port: src.port, conn: src.conn };
  }
  return {
    transport: "udp",
    host: src.host,
    port: via.rport !== null ? src.port : (via.port ?? 5060),
  };
}

/** Where a response goes after our Via is removed: the next Via (stateless §16.11 case). */
function nextViaDest(via: Via): Dest {
  const host = (via.received ?? via.host).replace(/^\[|\]$/g, "");
  const port = typeof via.rport === "number" ? via.rport : (via.port ?? 5060);
  return { transport: viaTransport(via.transport.toLowerCase()), host, port };
}

function statusClass(s: number): number {
  return Math.floor(s / 100);
}

/** §16.7 step 6: any 6xx, else the lowest class; within a class the first one kept. */
function better(a: { status: number }, b: { status: number } | null): boolean {
  if (b === null) return true;
  const ca = statusClass(a.status), cb = statusClass(b.status);
  if (cb === 6) return false;
  if (ca === 6) return true;
  return ca < cb;
}

const REASONS: Record<number, string> = {
  100: "Trying",
  200: "OK",
  408: "Request Timeout",
  482: "Loop Detected",
  483: "Too Many Hops",
  487: "Request Terminated",
  500: "Server Internal Error",
  503: "Service Unavailable",
};

export class ProxyCore {
  readonly txl: TransactionLayer<Dest, TimerPayload>;
  #settings: ProxySettings;
  #self: SelfAddresses;
  readonly #out: ProxyOutput;
  readonly #hooks: ProxyHooks;
  #router: Router;
  readonly #contexts = new Map<number, Context>();
  readonly #branches = new Map<number, Branch>();
  readonly #instance: string;
  #viaHost: string;
  /** Token bucket for overload.max_invite_rate. */
  #inviteTokens = 0;
  /** -Infinity: the bucket starts full, whatever the monotonic clock reads at start. */
  #inviteRefill = Number.NEGATIVE_INFINITY;

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
    this.#self = new SelfAddresses(
      settings.advertiseHost,
      settings.advertisePort,
      settings.localAddresses,
    );
    this.#viaHost = formatSentBy(settings.advertiseHost, settings.advertisePort);
    this.#instance = Math.floor(random() * 36 ** 4).toString(36).padStart(4, "0") + ".";
    this.txl = new TransactionLayer({
      t1: settings.t1Ms,
      maxTransactions: settings.maxTransactions,
    });
  }

  reconfigure(settings: ProxySettings, router: Router): void {
    this.#settings = settings;
    this.#router = router;
    this.#self = new SelfAddresses(
      settings.advertiseHost,
      settings.advertisePort,
      settings.localAddresses,
    );
    this.#viaHost = formatSentBy(settings.advertiseHost, settings.advertisePort);
  }

  get liveTransactions(): number {
    return this.txl.size;
  }

  nextDeadline(): number | undefined {
    return this.txl.nextDeadline();
  }

  tick(now: number): void {
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
      this.#onUnparseable(e, src);
      return;
    }
    try {
      if (msg.isRequest) this.#onRequest(msg, src, now);
      else this.#onResponse(msg, src, now);
    } catch (e) {
      // A lazily decoded header that turns out malformed surfaces here.
      if (!(e instanceof SipParseError)) throw e;
      if (msg.isRequest && msg.method !== "ACK") {
        this.#replyStateless(msg, src, e.status, e.message);
      } else this.#drop(msg.isRequest ? "malformed-request" : "malformed-response");
    }
  }

  /** A send to `to` failed at the transport: every branch waiting on it fails over. */
  onSendError(to: Dest, now: number): void {
    for (const b of [...this.#branches.values()]) {
      const d = b.hop.dest;
      if (!b.done && d.host === to.host && d.port === to.port && d.transport === to.transport) {
        this.#run(this.txl.transportError(b.tx), now);
      }
    }
  }

  /**
   * The HA state declared this member down. An INVITE it answered with a provisional
   * has no failover timer left and would wait for Timer C: try the next hop now. The
   * others keep their own failover timers, so a failover does not become one burst.
   */
  onMemberDown(member: { host: string; port: number }, now: number): void {
    for (const b of [...this.#branches.values()]) {
      const m = b.hop.member;
      if (b.done || !b.gotProvisional || b.tx.method !== "INVITE" || m === null) continue;
      if (m.host === member.host && m.port === member.port) {
        this.#branchFailed(b, "member-down", now);
      }
    }
  }

  #onUnparseable(e: SipParseError, src: Source): void {
    const partial = e.partial;
    if (e.drop || partial === null || !partial.isRequest || partial.method === "ACK") {
      this.#drop(
        partial !== null && !partial.isRequest ? "malformed-response" : "malformed-request",
      );
      return;
    }
    this.#replyStateless(partial, src, e.status, e.message);
  }

  // ------------------------------------------------------------- requests

  #onRequest(req: SipMessage, src: Source, now: number): void {
    const method = req.method;
    this.#hooks.onRequest?.(method);
    const rejection = requestRejection(req, SUPPORTED);
    if (rejection && !(rejection.status === 483 && method === "OPTIONS")) {
      if (method === "ACK") return this.#drop("malformed-request");
      return this.#replyStateless(req, src, rejection.status, rejection.reason, rejection.headers);
    }
    if (method === "OPTIONS" && (rejection !== null || this.#isAddressedToUs(req))) {
      return this.#answerOptions(req, src);
    }
    const sender = senderOf(req, src);
    if (method !== "OPTIONS" && method !== "ACK") this.#hooks.onRequestFrom?.(sender, method);

    const facts = requestFacts(req);
    const r = this.txl.receiveRequest(facts, now);
    this.#run(r.actions, now);
    if (r.kind === "absorbed") return;
    if (r.kind === "ack") return this.#forwardStateless(req, src, now);

    if (!this.txl.canCreate(2)) {
      return this.#replyStateless(req, src, 503, "Service Unavailable", [[
        "Retry-After",
        `${RETRY_AFTER_S}`,
      ]]);
    }
    if (method === "CANCEL" && !r.cancelTarget) {
      // §16.10: no response context to apply it to: forward the CANCEL statelessly.
      return this.#forwardStateless(req, src, now);
    }
    const via = req.topVia!;
    const stx = this.txl.createServer(facts, upstreamDest(via, src), src.transport !== "udp");
    if (method === "CANCEL" && !this.#contexts.has(r.cancelTarget!.id)) {
      // The INVITE already has its final answer: the CANCEL has no effect, but it is
      // still answered 200 (§9.2, §16.10).
      return this.#respondLocal(stx, req, 200, "OK", now);
    }
    if (method === "CANCEL") return this.#onCancel(req, stx, r.cancelTarget, src, now);
    if (method === "INVITE") {
      this.#respondLocal(stx, req, 100, "Trying", now);
      if (this.#overloaded(now)) {
        return this.#respondLocal(stx, req, 503, "Service Unavailable", now, [[
          "Retry-After",
          `${RETRY_AFTER_S}`,
        ]]);
      }
    }

    // Loop detection (§16.3 step 4): a Via of ours with the same hash is a loop.
    const hash = this.#loopHash(req, req.topVia);
    if (this.#looped(req)) return this.#respondLocal(stx, req, 482, "Loop Detected", now);

    const pre = this.#preprocessRoutes(req);
    const decision = this.#router.route({
      method,
      inDialog: req.to?.tag != null,
      requestUri: pre.requestUri,
      topRoute: pre.topRoute,
      xGenesysRoute: parseOptionalUri(req.xGenesysRoute),
      source: src,
    }, this.#hooks.isMember(sender));
    if (decision.kind === "reject") {
      return this.#respondLocal(stx, req, decision.status, decision.reason, now);
    }
    if (decision.kind === "out-of-service") {
      return this.#respondLocal(stx, req, 503, "Service Unavailable", now, [[
        "Retry-After",
        `${RETRY_AFTER_S}`,
      ]]);
    }
    const ctx: Context = {
      stx,
      request: req,
      source: src,
      hops: decision.hops,
      next: 0,
      branches: [],
      best: null,
      finalSent: false,
      cancelled: false,
      hash,
      routeDecision: decision,
      popRoutes: pre.popRoutes,
      newRequestUri: pre.newRequestUri,
    };
    this.#contexts.set(stx.id, ctx);
    this.#tryNext(ctx, now);
  }

  #isAddressedToUs(req: SipMessage): boolean {
    const uri = req.uri;
    return uri.user === null && this.#self.isSelf(uri) && req.routes.length === 0;
  }

  #answerOptions(req: SipMessage, src: Source): void {
    const ok = this.#hooks.servedPairReady();
    this.#replyStateless(req, src, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", [
      [
        "Allow",
        "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, MESSAGE",
      ],
      ["Accept", "application/sdp"],
      ...(ok ? [] : [["Retry-After", `${RETRY_AFTER_S}`] as [string, string]]),
    ]);
  }

  #overloaded(now: number): boolean {
    const rate = this.#settings.maxInviteRate;
    if (rate <= 0) return false;
    this.#inviteTokens = Math.min(
      rate,
      this.#inviteTokens + ((now - this.#inviteRefill) / 1000) * rate,
    );
    this.#inviteRefill = now;
    if (this.#inviteTokens < 1) return true;
    this.#inviteTokens -= 1;
    return false;
  }

  /**
   * The hash our branch carries. `topVia` is the top Via of the request as we received
   * it, identified by transport, sent-by and branch only: we add received/rport to it
   * when forwarding, and a looped request must still hash the same.
   */
  #loopHash(req: SipMessage, topVia: Via | null): string {
    const cseq = req.cseq!;
    return loopHash({
      requestUri: req.requestUri,
      fromTag: req.from?.tag ?? "",
      toTag: req.to?.tag ?? "",
      callId: req.callId ?? "",
      cseq: cseq.seq,
      topVia: topVia === null
        ? ""
        : `${topVia.transport} ${topVia.host}:${topVia.port ?? ""};${topVia.branch ?? ""}`,
      proxyRequire: req.proxyRequire.join(","),
    });
  }

  /**
   * True when a Via of ours carries the hash this request would get now. When we sent
   * it, the Via below ours was the top one, so that is the one hashed; hashing the
   * request's current top Via (the next hop's) would never match a real loop.
   */
  #looped(req: SipMessage): boolean {
    const vias = req.vias;
    for (let i = 0; i + 1 < vias.length; i++) {
      const v = vias[i]!;
      if (!this.#self.isSelfSentBy(v.host, v.port)) continue;
      if (hashOfBranch(v.branch ?? "") === this.#loopHash(req, vias[i + 1]!)) return true;
    }
    return false;
  }

  /**
   * §16.4: a Request-URI of ours means the previous hop was a strict router, so the
   * real Request-URI is the last Route entry; then our own entries on top of the Route
   * set (two of them after a double Record-Route) are removed.
   */
  #preprocessRoutes(req: SipMessage): {
    requestUri: SipUri;
    newRequestUri: string | null;
    topRoute: SipUri | null;
    popRoutes: number;
  } {
    let requestUri = req.uri;
    let newRequestUri: string | null = null;
    let routes = req.routes;
    if (this.#self.isSelf(requestUri) && routes.length > 0) {
      const last = routes[routes.length - 1]!;
      newRequestUri = last.uri;
      requestUri = parseUri(last.uri);
      routes = routes.slice(0, -1); // the editor removes it below as a whole header rewrite
    }
    let popRoutes = 0;
    while (popRoutes < routes.length && this.#self.isSelf(parseUri(routes[popRoutes]!.uri))) {
      popRoutes++;
    }
    const top = routes[popRoutes];
    return { requestUri, newRequestUri, topRoute: top ? parseUri(top.uri) : null, popRoutes };
  }

  // -------------------------------------------------------------- forwarding

  /** Forwards to the next hop of the context, or answers when none is left. */
  #tryNext(ctx: Context, now: number): void {
    if (ctx.finalSent) return;
    if (ctx.cancelled || ctx.next >= ctx.hops.length) return this.#finish(ctx, now);
    const hop = ctx.hops[ctx.next++]!;
    const req = ctx.request!;
    const branch = newBranch(ctx.hash, this.#instance);
    let dest = hop.dest;
    let bytes = this.#forwardedBytes(ctx, dest.transport, branch);
    if (dest.transport === "udp" && bytes.byteLength > UDP_MTU_LIMIT) {
      dest = { ...dest, transport: "tcp" };
      bytes = this.#forwardedBytes(ctx, "tcp", branch);
    }
    const method = req.method;
    const { tx, actions } = this.txl.createClient(
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
    const b: Branch = {
      ctx,
      hop: { ...hop, dest },
      tx,
      bytes,
      gotResponse: false,
      gotProvisional: false,
      done: false,
      cancelPending: false,
      cancelSent: false,
      abandoned: false,
      failoverTimer: null,
      timerC: null,
    };
    ctx.branches.push(b);
    this.#branches.set(tx.id, b);
    if (ctx.next < ctx.hops.length) {
      b.failoverTimer = this.txl.setTimer(now + this.#settings.failoverTimeoutMs, {
        kind: "failover",
        branch: b,
      });
    }
    this.#run(actions, now);
  }

  #forwardedBytes(ctx: Context, transport: "udp" | "tcp", branch: string): Uint8Array {
    const req = ctx.request!;
    const src = ctx.source;
    const e = new MessageEditor(req);
    e.setTopViaReceived(src.host, src.port);
    if (ctx.newRequestUri !== null) {
      // Strict-router fix-up: the last Route entry became the Request-URI; the Route set
      // is rewritten without it (and without our own entries) in its original order.
      e.setRequestUri(ctx.newRequestUri);
      e.removeHeader("Route");
      for (const r of req.routes.slice(ctx.popRoutes, -1)) e.addHeader("Route", r.raw);
    } else {
      for (let i = 0; i < ctx.popRoutes; i++) e.popRoute();
    }
    if (ctx.routeDecision.consumedXGenesysRoute) e.removeHeader("X-Genesys-Route");
    e.decrementMaxForwards();
    if (DIALOG_CREATING.has(req.method) && req.to?.tag == null) {
      // The editor keeps call order for lines inserted at one place, so push top first.
      for (const r of this.#recordRoute(src.transport, transport)) e.pushRecordRoute(r);
    }
    e.pushVia(`SIP/2.0/${transport.toUpperCase()} ${this.#viaHost};branch=${branch};rport`);
    if (transport !== "udp") e.ensureContentLength();
    return e.toBytes();
  }

  /**
   * Our Record-Route entries, top first; two when the transports differ (RFC 5658). The
   * top one is the callee's first Route, so it names the outbound side; the caller uses
   * the route set reversed, so the bottom one names the inbound side.
   */
  #recordRoute(inbound: string, outbound: string): string[] {
    const h = this.#viaHost;
    const uri = (t: string) =>
      `<sip:${h}${t === "udp" ? "" : `;transport=${t}`};lr${inbound !== outbound ? ";r2=on" : ""}>`;
    return inbound === outbound ? [uri(outbound)] : [uri(outbound), uri(inbound)];
  }

  /** ACK for a 2xx, unmatched CANCEL and the like: route and forward without a transaction. */
  #forwardStateless(req: SipMessage, src: Source, _now: number): void {
    const hash = this.#loopHash(req, req.topVia);
    if (this.#looped(req)) return this.#drop("loop-on-ack");
    const pre = this.#preprocessRoutes(req);
    const decision = this.#router.route({
      method: req.method,
      inDialog: req.to?.tag != null,
      requestUri: pre.requestUri,
      topRoute: pre.topRoute,
      xGenesysRoute: parseOptionalUri(req.xGenesysRoute),
      source: src,
    }, this.#hooks.isMember(senderOf(req, src)));
    if (decision.kind !== "forward" || decision.hops.length === 0) {
      if (req.method === "ACK") return this.#drop("ack-unroutable");
      return this.#replyStateless(req, src, 503, "Service Unavailable", [[
        "Retry-After",
        `${RETRY_AFTER_S}`,
      ]]);
    }
    const ctx = {
      request: req,
      source: src,
      routeDecision: decision,
      popRoutes: pre.popRoutes,
      newRequestUri: pre.newRequestUri,
    } as Context;
    // §16.11: a stateless branch is a function of the request, so retransmissions match.
    const branch = `z9hG4bKvl${hash}.s${
      (req.topVia?.branch ?? "").replace(/[^A-Za-z0-9.\-_]/g, "")
    }`;
    let dest = decision.hops[0]!.dest;
    let bytes = this.#forwardedBytes(ctx, dest.transport, branch);
    if (dest.transport === "udp" && bytes.byteLength > UDP_MTU_LIMIT) {
      dest = { ...dest, transport: "tcp" };
      bytes = this.#forwardedBytes(ctx, "tcp", branch);
    }
    this.#out.send(bytes, dest);
  }

  // ------------------------------------------------------------------ CANCEL

  #onCancel(
    cancel: SipMessage,
    stx: ServerTransaction<Dest>,
    target: ServerTransaction<Dest> | undefined,
    src: Source,
    now: number,
  ): void {
    const ctx = this.#contexts.get(target!.id)!;
    void src;
    this.#respondLocal(stx, cancel, 200, "OK", now);
    ctx.cancelled = true;
    for (const b of ctx.branches) this.#cancelBranch(b, now);
    if (ctx.branches.every((b) => b.done)) this.#finish(ctx, now);
  }

  #cancelBranch(b: Branch, now: number): void {
    if ((b.done && !b.abandoned) || b.cancelSent || b.tx.method !== "INVITE") return;
    if (!b.gotProvisional) {
      b.cancelPending = true;
      return;
    }
    b.cancelSent = true;
    const bytes = buildCancel(parseMessage(b.bytes));
    const { actions } = this.txl.createClient(
      { method: "CANCEL", branch: b.tx.branch, bytes },
      b.hop.dest,
      b.hop.dest.transport !== "udp",
      now,
    );
    this.#run(actions, now);
  }

  // --------------------------------------------------------------- responses

  #onResponse(res: SipMessage, src: Source, now: number): void {
    this.#hooks.onResponse?.(res.status);
    if (responseRejection(res) !== null) return this.#drop("invalid-response");
    const via = res.topVia!;
    if (!this.#self.isSelfSentBy(via.host, via.port)) return this.#drop("via-not-ours");
    const branch = via.branch ?? "";
    if (branch.startsWith(PROBE_BRANCH_PREFIX)) {
      this.#hooks.onProbeResponse?.(branch, res.status);
      return;
    }
    const facts: ResponseFacts = { status: res.status, branch, cseqMethod: res.cseq!.method };
    const r = this.txl.receiveResponse(facts, res.bytes, now);
    // Look the branch up before running the actions: on a reliable transport a final
    // response ends the client transaction at once (Timer D/K are 0), and its
    // "terminated" action forgets the branch.
    const b = r.kind === "response" ? this.#branches.get(r.tx.id) : undefined;
    this.#run(r.actions, now);
    if (r.kind === "absorbed") return;
    if (r.kind === "unmatched") {
      // §16.7 / §16.11: no transaction (e.g. a 2xx retransmission after ours ended, or a
      // response to a stateless request): remove our Via and send it up along the next.
      const vias = res.vias;
      if (vias.length < 2) return this.#drop("via-not-ours");
      this.#out.send(new MessageEditor(res).popVia().toBytes(), nextViaDest(vias[1]!));
      return;
    }
    if (!b) return; // a response to one of our CANCELs
    this.#onBranchResponse(b, res, now);
    void src;
  }

  #onBranchResponse(b: Branch, res: SipMessage, now: number): void {
    const ctx = b.ctx;
    const status = res.status;
    b.gotResponse = true;
    this.#clearTimer(b, "failoverTimer");
    if (b.abandoned) {
      if (status < 200) {
        b.gotProvisional = true;
        return this.#cancelBranch(b, now);
      }
      b.abandoned = false;
      if (status >= 300) return;
    }
    if (status < 200) {
      if (!b.gotProvisional) {
        b.gotProvisional = true;
        if (b.cancelPending) this.#cancelBranch(b, now);
      }
      if (b.tx.method === "INVITE") {
        this.#clearTimer(b, "timerC");
        b.timerC = this.txl.setTimer(now + TIMER_C_MS, { kind: "timer-c", branch: b });
      }
      if (status === 100 || ctx.finalSent) return;
      return this.#sendUp(ctx, res, now);
    }
    b.done = true;
    this.#clearTimer(b, "timerC");
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
    if ((status === 503 || status === 408) && !ctx.cancelled) return this.#tryNext(ctx, now);
    this.#finish(ctx, now);
  }

  /** A branch gave up (timeout, transport error, failover timer): try the next hop. */
  #branchFailed(b: Branch, why: string, now: number): void {
    if (b.done) return;
    b.done = true;
    b.abandoned = why === "failover-timeout";
    this.#clearTimer(b, "failoverTimer");
    this.#clearTimer(b, "timerC");
    if (b.hop.member) this.#hooks.onForwardFailure?.(b.hop.member, why);
    const ctx = b.ctx;
    if (better({ status: 408 }, ctx.best)) ctx.best = { status: 408, msg: null };
    this.#tryNext(ctx, now);
  }

  /** Sends the best final answer once no branch is pending. */
  #finish(ctx: Context, now: number): void {
    if (ctx.finalSent) return;
    if (ctx.branches.some((b) => !b.done)) return;
    ctx.finalSent = true;
    this.#answer(ctx, ctx.request!, now);
    this.#release(ctx);
  }

  /** The final answer of a context whose branches are all done (§16.7 step 6). */
  #answer(ctx: Context, req: SipMessage, now: number): void {
    const best = ctx.best;
    if (ctx.cancelled && (best === null || best.msg === null)) {
      return this.#respondLocal(ctx.stx, req, 487, "Request Terminated", now);
    }
    if (best === null) {
      return this.#respondLocal(ctx.stx, req, 503, "Service Unavailable", now, [[
        "Retry-After",
        `${RETRY_AFTER_S}`,
      ]]);
    }
    if (best.msg === null) {
      return this.#respondLocal(
        ctx.stx,
        req,
        best.status,
        REASONS[best.status] ?? "Error",
        now,
      );
    }
    if (best.status === 503) {
      // §16.7 step 6: a 503 from downstream is not passed up; a 500 says the same without
      // suggesting that the client retry through this proxy.
      return this.#respondLocal(ctx.stx, req, 500, "Server Internal Error", now);
    }
    this.#sendUp(ctx, best.msg, now);
  }

  /**
   * After the final answer went up, a context only serves late responses of abandoned
   * branches (relayed through `stx`). Its parsed request and stored responses are let go
   * and it leaves the CANCEL lookup at once, instead of living as long as its
   * transactions (32 s after a call on UDP): at a thousand calls a second that is most
   * of the heap, and a large heap is long GC pauses.
   */
  #release(ctx: Context): void {
    this.#contexts.delete(ctx.stx.id);
    ctx.request = null;
    ctx.best = null;
    ctx.hops = [];
  }

  #sendUp(ctx: Context, res: SipMessage, now: number): void {
    const bytes = new MessageEditor(res).popVia().toBytes();
    this.#run(
      this.txl.respond(
        ctx.stx,
        { status: res.status, bytes, toTag: res.to?.tag ?? undefined },
        now,
      ),
      now,
    );
  }

  // ------------------------------------------------------------------ local

  #respondLocal(
    stx: ServerTransaction<Dest>,
    req: SipMessage,
    status: number,
    reason: string,
    now: number,
    headers: [string, string][] = [],
  ): void {
    if (status >= 200) this.#hooks.onLocalResponse?.(status);
    const toTag = status > 100 && req.to?.tag == null ? `vl${stx.id.toString(36)}` : undefined;
    const bytes = buildResponse(req, status, reason, {
      toTag,
      headers: status === 100 ? headers : [["Server", this.#settings.userAgent], ...headers],
    });
    this.#run(this.txl.respond(stx, { status, bytes, toTag }, now), now);
  }

  #replyStateless(
    req: SipMessage,
    src: Source,
    status: number,
    reason: string,
    headers: [string, string][] = [],
  ): void {
    this.#hooks.onLocalResponse?.(status);
    let bytes: Uint8Array;
    let dest: Dest;
    try {
      const via = req.topVia;
      if (via === null) return this.#drop("malformed-request");
      dest = upstreamDest(via, src);
      bytes = buildResponse(req, status, reason, {
        headers: [["Server", this.#settings.userAgent], ...headers],
      });
    } catch (e) {
      if (!(e instanceof SipParseError)) throw e;
      return this.#drop("malformed-request");
    }
    this.#out.send(bytes, dest);
  }

  #drop(reason: DropReason): void {
    this.#hooks.onDrop?.(reason);
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
          const b = this.#branches.get(a.tx.id);
          if (b) {
            this.#branchFailed(
              b,
              a.kind === "timeout" ? `timer-${a.timer}` : "transport-error",
              now,
            );
          }
          break;
        }
        case "terminated":
          if (a.tx.role === "client") {
            const b = this.#branches.get(a.tx.id);
            if (b) {
              this.#branches.delete(a.tx.id);
              this.#clearTimer(b, "failoverTimer");
              this.#clearTimer(b, "timerC");
            }
          } else {
            this.#contexts.delete(a.tx.id);
          }
          break;
        case "user-timer": {
          const p = a.payload;
          const b = p.branch;
          if (p.kind === "failover") {
            b.failoverTimer = null;
            // No answer at all in time: this hop is presumed dead; its transaction keeps
            // running so that a late 2xx is still relayed, but the call moves on.
            if (!b.gotResponse && !b.done) this.#branchFailed(b, "failover-timeout", now);
          } else {
            b.timerC = null;
            // §16.8: Timer C fired: CANCEL if a provisional came, else behave as if 408.
            if (b.done) break;
            if (b.gotProvisional) this.#cancelBranch(b, now);
            else this.#branchFailed(b, "timer-C", now);
          }
          break;
        }
      }
    }
  }

  #clearTimer(b: Branch, which: "failoverTimer" | "timerC"): void {
    const h = b[which];
    if (h !== null) {
      this.txl.clearTimer(h as Parameters<TransactionLayer<Dest, TimerPayload>["clearTimer"]>[0]);
      b[which] = null;
    }
  }
}

/**
 * The sender as a pair member is known: over a stream its source port is an ephemeral
 * one (a server opens a new connection for its own requests, RFC 3261 §18.1.1), so the
 * port of the top Via stands for it when the Via names the source's own host. Without
 * this, a member sharing its host with another member is taken for an endpoint.
 */
function senderOf(req: SipMessage, src: Source): Source {
  if (src.transport === "udp") return src;
  const via = req.topVia;
  if (via === null) return src;
  const host = via.host.replace(/^\[|\]$/g, "").toLowerCase();
  if (host !== src.host.toLowerCase()) return src;
  return { ...src, port: via.port ?? 5060 };
}

function formatSentBy(host: string, port: number | null): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return port === null ? h : `${h}:${port}`;
}

function parseOptionalUri(v: string | null): SipUri | null {
  if (v === null) return null;
  const s = v.trim();
  const inner = s.startsWith("<") ? s.slice(1, s.indexOf(">")) : s;
  return parseUri(inner);
}

function requestFacts(req: SipMessage): RequestFacts {
  const via = req.topVia!;
  const cseq = req.cseq!;
  return {
    method: req.method,
    branch: via.branch ?? "",
    sentBy: `${via.host}:${via.port ?? 5060}`,
    requestUri: req.requestUri,
    callId: req.callId ?? "",
    fromTag: req.from?.tag ?? "",
    toTag: req.to?.tag ?? "",
    cseq: cseq.seq,
    viaKey: via.raw,
  };
}
