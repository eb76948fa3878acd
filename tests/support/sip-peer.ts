/**
 * A small SIP endpoint for tests: the common base of FakeSipServer and TestUa.
 *
 * It records every message it receives and sends, answers requests as a UAS (INVITE
 * with provisional and final responses, CANCEL, BYE, OPTIONS, ACK absorption), and sends
 * requests as a UAC with RFC 3261 §17.1 retransmissions over UDP. Plain text throughout,
 * independent of vipless's own SIP code.
 */
import {
  PeerTransport,
  type SocketAddress,
  type TcpConnection,
  type Transport,
} from "./peer-transport.ts";
import {
  buildRequest,
  buildResponse,
  canonicalName,
  cseqNumber,
  getParam,
  type HeaderList,
  newBranch,
  newCallId,
  newTag,
  parseMessage,
  parseUri,
  reasonPhrase,
  sameHopRequest,
  sdpBody,
  setParam,
  type SipMessage,
  topBranch,
} from "./sip-text.ts";
import { Dialog } from "./dialog.ts";
import { type Deferred, deferred, sleep, withTimeout } from "./wait.ts";

export type { SocketAddress, Transport };

/** One message the peer received. */
export interface Received {
  msg: SipMessage;
  from: SocketAddress;
  transport: Transport;
  /** Date.now() on arrival. */
  at: number;
}

export interface Sent {
  text: string;
  to: SocketAddress;
  at: number;
}

/** How the UAS side answers an INVITE. */
export interface InviteAnswer {
  /** Final status, or "none" to never send one (a hung or dead server). */
  final: number | "none";
  /** Send 100 Trying at once (default true). */
  trying?: boolean;
  /** Provisional responses after the 100 (default [180]). */
  provisional?: number[];
  /** Delay before the provisional responses (default 0). */
  provisionalDelayMs?: number;
  /** Delay between the provisional responses and the final one (default 0). */
  finalDelayMs?: number;
  reason?: string;
  /** Extra header lines on the final response (e.g. Retry-After). */
  headers?: HeaderList;
  /** Body of a 2xx (default: an SDP answer; null for none). */
  body?: string | null;
}

/** Never answers at all, not even 100: a dead or unreachable member. */
export const SILENT: InviteAnswer = { final: "none", trying: false, provisional: [] };

export interface PeerOptions {
  transport: Transport;
  /** User part of this peer's Contact and From; also names it in failure messages. */
  name?: string;
  host?: string;
  port?: number;
  /** RFC 3261 T1 and T2 in ms (defaults 500 and 4000). */
  t1?: number;
  t2?: number;
  /** How incoming INVITEs are answered (default: 100, 180, then 200 with SDP). */
  answer?: InviteAnswer | ((req: SipMessage) => InviteAnswer);
  /** Answer OPTIONS with 200 (default true); false keeps the peer bound but mute to probes. */
  respondOptions?: boolean;
  /**
   * Sees every new incoming request (not retransmissions, not ACK) before the built-in
   * behaviour; return true when it has answered with `respond()` itself.
   */
  onRequest?: (tx: ServerTx) => boolean | void;
  /** Turns a URI host (and port) into a socket address; default: the host as written. */
  resolve?: (host: string, port: number | undefined) => SocketAddress;
}

/** An incoming request and what the peer did about it. */
export interface ServerTx {
  req: SipMessage;
  from: SocketAddress;
  conn?: TcpConnection;
  /** The request's Via values, the top one with received/rport filled in (RFC 3261 §18.2.1). */
  vias: string[];
  toTag?: string;
  lastResponse?: string;
  finalStatus?: number;
  /** The ACK for this INVITE's final response arrived. */
  acked: boolean;
  /** How many copies of the request arrived after the first. */
  retransmissions: number;
  timers: Set<ReturnType<typeof setTimeout>>;
}

export interface RequestOptions {
  /** Request-URI. */
  uri: string;
  from?: string;
  to?: string;
  callId?: string;
  cseq?: number;
  /** Top Via branch (default: a new one). */
  branch?: string;
  route?: string[];
  /** Extra header lines, placed after the standard ones. */
  headers?: HeaderList;
  body?: string;
  contentType?: string;
  /** Give up after this long without a final response (default 64*T1). */
  timeoutMs?: number;
  /** Max-Forwards value (default 70). */
  maxForwards?: number;
}

export interface RequestResult {
  /** Final status; 408 when no final response came in time (RFC 3261 §8.1.3.1). */
  status: number;
  final?: SipMessage;
  /** Every response in arrival order, retransmissions included. */
  responses: SipMessage[];
  timedOut: boolean;
}

/** A request this peer sent, as one client transaction. */
export class OutgoingRequest {
  readonly msg: SipMessage;
  readonly branch: string;
  readonly responses: SipMessage[] = [];
  readonly done: Deferred<RequestResult> = deferred();
  timers = new Set<ReturnType<typeof setTimeout>>();
  /** The ACK sent for a final response to an INVITE, resent for each retransmitted final. */
  ack?: { text: string; to: SocketAddress };
  listeners = new Set<(r: SipMessage) => void>();

  constructor(readonly text: string, readonly to: SocketAddress) {
    this.msg = parseMessage(text);
    this.branch = topBranch(this.msg) ?? "";
  }

  get result(): Promise<RequestResult> {
    return this.done.promise;
  }

  /** Resolves with the first response (already received or future) that matches. */
  waitForResponse(match: number | ((r: SipMessage) => boolean), timeoutMs: number) {
    const pred = typeof match === "number" ? (r: SipMessage) => r.status === match : match;
    const seen = this.responses.find(pred);
    if (seen) return Promise.resolve(seen);
    const d = deferred<SipMessage>();
    const l = (r: SipMessage) => {
      if (pred(r)) d.resolve(r);
    };
    this.listeners.add(l);
    return withTimeout(d.promise, timeoutMs, `a response to ${this.msg.method}`)
      .finally(() => this.listeners.delete(l));
  }
}

const enc = new TextEncoder();

export class SipPeer {
  readonly received: Received[] = [];
  readonly sent: Sent[] = [];
  /** Bytes that did not parse as SIP. */
  readonly malformed: Array<{ raw: string; from: SocketAddress; error: string }> = [];
  /** Requests answered by this peer, in arrival order. */
  readonly serverTxs: ServerTx[] = [];
  /** Dialogs this peer took part in, as caller (UAC) or callee (UAS), in creation order. */
  readonly dialogs: Dialog[] = [];

  answer: InviteAnswer | ((req: SipMessage) => InviteAnswer);
  respondOptions: boolean;
  onRequest?: (tx: ServerTx) => boolean | void;
  readonly name: string;
  readonly transport: Transport;
  readonly t1: number;
  readonly t2: number;

  #net: PeerTransport | undefined;
  #host: string;
  /** The host as a URI or Via writes it: an IPv6 address in brackets. */
  get #uriHost(): string {
    return this.#host.includes(":") ? `[${this.#host}]` : this.#host;
  }
  #port: number;
  #resolve: (host: string, port: number | undefined) => SocketAddress;
  #serverTxs = new Map<string, ServerTx>();
  #clientTxs = new Map<string, OutgoingRequest>();
  #waiters = new Set<(r: Received) => void>();
  #timers = new Set<ReturnType<typeof setTimeout>>();

  protected constructor(opts: PeerOptions) {
    this.transport = opts.transport;
    this.name = opts.name ?? "peer";
    this.#host = opts.host ?? "127.0.0.1";
    this.#port = opts.port ?? 0;
    this.t1 = opts.t1 ?? 500;
    this.t2 = opts.t2 ?? 4000;
    this.answer = opts.answer ?? { final: 200 };
    this.respondOptions = opts.respondOptions ?? true;
    this.onRequest = opts.onRequest;
    this.#resolve = opts.resolve ?? ((host, port) => ({ host, port: port ?? 5060 }));
  }

  /** Binds the socket; once bound, later binds reuse the same port. */
  protected async bind(): Promise<void> {
    if (this.#net) return;
    // Rebinding a port just closed can fail for a moment (Deno releases a UDP port only
    // after its pending receive settles), so a restart retries briefly.
    for (let attempt = 0;; attempt++) {
      try {
        this.#net = await PeerTransport.open(
          this.transport,
          { host: this.#host, port: this.#port },
          (bytes, from, conn) => this.#onBytes(bytes, from, conn),
        );
        break;
      } catch (e) {
        if (this.#port === 0 || attempt >= 10) throw e;
        await sleep(20);
      }
    }
    this.#port = this.#net.local.port;
  }

  get running(): boolean {
    return this.#net !== undefined;
  }

  /** Where this peer listens. */
  get address(): SocketAddress {
    return { host: this.#host, port: this.#port };
  }

  /** A SIP URI for this peer (`sip:127.0.0.1:P`, with `;transport=tcp|tls` over a stream). */
  get uri(): string {
    const t = this.transport === "udp" ? "" : `;transport=${this.transport}`;
    return `sip:${this.#uriHost}:${this.#port}${t}`;
  }

  /** The Contact header value this peer puts in requests and dialog-creating responses. */
  get contact(): string {
    const t = this.transport === "udp" ? "" : `;transport=${this.transport}`;
    return `<sip:${this.name}@${this.#uriHost}:${this.#port}${t}>`;
  }

  /** Closes the sockets and stops every timer; the peer then neither sends nor answers. */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const tx of this.#clientTxs.values()) {
      for (const t of tx.timers) clearTimeout(t);
    }
    for (const tx of this.#serverTxs.values()) {
      for (const t of tx.timers) clearTimeout(t);
    }
    this.#net?.close();
    this.#net = undefined;
  }

  /** Open TCP connections (for tests on connection reuse). */
  get connections(): TcpConnection[] {
    return this.#net?.connections ?? [];
  }

  // ---- recording and waiting ----------------------------------------------------------

  /** Received requests, optionally of one method. */
  requests(method?: string): Received[] {
    return this.received.filter((r) =>
      r.msg.kind === "request" && (method === undefined || r.msg.method === method)
    );
  }

  /** Received responses, optionally to one method. */
  responses(method?: string): Received[] {
    return this.received.filter((r) =>
      r.msg.kind === "response" && (method === undefined || r.msg.method === method)
    );
  }

  /**
   * The first received message, already recorded or arriving within `timeoutMs`, for
   * which `match` is true. `fromIndex` skips messages recorded earlier.
   */
  waitFor(
    match: (r: Received) => boolean,
    timeoutMs: number,
    fromIndex = 0,
  ): Promise<Received> {
    const seen = this.received.slice(fromIndex).find(match);
    if (seen) return Promise.resolve(seen);
    const d = deferred<Received>();
    const w = (r: Received) => {
      if (match(r)) d.resolve(r);
    };
    this.#waiters.add(w);
    return withTimeout(d.promise, timeoutMs, `a matching message at ${this.name}`)
      .finally(() => this.#waiters.delete(w));
  }

  /** Sends raw bytes or text, for hand-made and malformed messages. */
  async send(data: string | Uint8Array, to: SocketAddress): Promise<void> {
    if (!this.#net) throw new Error(`${this.name} is stopped`);
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    this.sent.push({ text: new TextDecoder().decode(bytes), to, at: Date.now() });
    await this.#net.send(bytes, to);
  }

  /** The socket address a SIP URI points at (via the `resolve` option). */
  addressOf(uri: string): SocketAddress {
    const u = parseUri(uri);
    return this.#resolve(u.host, u.port ?? (u.scheme === "sips" ? 5061 : undefined));
  }

  #schedule(ms: number, fn: () => void, set?: Set<ReturnType<typeof setTimeout>>) {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      set?.delete(t);
      if (this.#net) fn();
    }, ms);
    this.#timers.add(t);
    set?.add(t);
    return t;
  }

  #onBytes(bytes: Uint8Array, from: SocketAddress, conn?: TcpConnection): void {
    const raw = new TextDecoder().decode(bytes);
    if (raw.trim() === "") return; // keep-alive
    let msg: SipMessage;
    try {
      msg = parseMessage(raw);
    } catch (e) {
      this.malformed.push({ raw, from, error: (e as Error).message });
      return;
    }
    const r: Received = { msg, from, transport: this.transport, at: Date.now() };
    this.received.push(r);
    for (const w of [...this.#waiters]) w(r);
    if (msg.kind === "response") this.#onResponse(msg);
    else this.#onRequest(msg, from, conn);
  }

  // ---- UAS -----------------------------------------------------------------------------

  #onRequest(req: SipMessage, from: SocketAddress, conn?: TcpConnection): void {
    const branch = topBranch(req) ?? "";
    if (req.method === "ACK") return this.#onAck(req, branch);
    const key = `${branch}|${req.method}`;
    const old = this.#serverTxs.get(key);
    if (old) {
      // A retransmission: repeat the last response, never act twice (RFC 3261 §17.2).
      old.retransmissions++;
      if (old.lastResponse) this.#sendResponseText(old, old.lastResponse);
      return;
    }
    const tx: ServerTx = {
      req,
      from,
      conn,
      vias: this.#responseVias(req, from),
      acked: false,
      retransmissions: 0,
      timers: new Set(),
    };
    this.#serverTxs.set(key, tx);
    this.serverTxs.push(tx);
    if (this.onRequest?.(tx)) return;
    switch (req.method) {
      case "INVITE":
        return this.#answerInvite(tx);
      case "CANCEL":
        return this.#answerCancel(tx, branch);
      case "OPTIONS":
        if (this.respondOptions) {
          this.respond(tx, 200, { headers: [["Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"]] });
        }
        return;
      case "BYE":
        for (const d of this.dialogs) {
          if (d.callId === req.get("call-id")) d.terminated = true;
        }
        this.respond(tx, 200);
        return;
      default:
        this.respond(tx, 200);
    }
  }

  /** Fills in received= and rport on the top Via, as the response must carry them. */
  #responseVias(req: SipMessage, from: SocketAddress): string[] {
    const vias = req.getAll("via");
    if (vias.length === 0) return vias;
    let top = vias[0];
    const sentBy = top.split(/\s+/)[1]?.split(";")[0] ?? "";
    const host = sentBy.startsWith("[")
      ? sentBy.slice(1, sentBy.indexOf("]"))
      : sentBy.split(":")[0];
    if (host !== from.host) top = setParam(top, "received", from.host);
    if (getParam(top, "rport") === "") top = setParam(top, "rport", String(from.port));
    return [top, ...vias.slice(1)];
  }

  /** Where a response goes over UDP: received/rport/sent-by of the top Via (RFC 3261 §18.2.2). */
  #responseTarget(tx: ServerTx): SocketAddress {
    const top = tx.vias[0];
    if (!top) return tx.from;
    const sentBy = top.split(/\s+/)[1]?.split(";")[0] ?? "";
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(sentBy);
    const received = getParam(top, "received");
    const rport = getParam(top, "rport");
    const host = received ?? (m ? m[1].replace(/^\[|\]$/g, "") : tx.from.host);
    const port = rport ? Number(rport) : m?.[2] ? Number(m[2]) : 5060;
    return received ? { host, port } : this.#resolve(host, port);
  }

  /**
   * Sends a response on a server transaction. 18x and 2xx to INVITE carry a To tag, this
   * peer's Contact and the request's Record-Route (RFC 3261 §12.1.1); a final response
   * to INVITE is retransmitted over UDP until the ACK arrives (§13.3.1.4, §17.2.1).
   */
  respond(
    tx: ServerTx,
    status: number,
    opts: { reason?: string; headers?: HeaderList; body?: string; contentType?: string } = {},
  ): string {
    const req = tx.req;
    let to = req.get("to") ?? "";
    if (status > 100 && getParam(to, "tag") === undefined) {
      tx.toTag ??= newTag();
      to = setParam(to, "tag", tx.toTag);
    }
    const headers: HeaderList = [
      ...tx.vias.map((v): [string, string] => ["Via", v]),
      ["From", req.get("from") ?? ""],
      ["To", to],
      ["Call-ID", req.get("call-id") ?? ""],
      ["CSeq", req.get("cseq") ?? ""],
    ];
    const dialogCreating = req.method === "INVITE" && status > 100 && status < 300;
    if (dialogCreating) {
      for (const [n, v] of req.headers) {
        if (canonicalName(n) === "record-route") headers.push(["Record-Route", v]);
      }
      headers.push(["Contact", this.contact]);
    }
    headers.push(["Server", `vipless-test-${this.name}`]);
    headers.push(...(opts.headers ?? []));
    const body = opts.body ?? "";
    if (body) headers.push(["Content-Type", opts.contentType ?? "application/sdp"]);
    const text = buildResponse(status, opts.reason ?? reasonPhrase(status), headers, body);
    tx.lastResponse = text;
    if (status >= 200) tx.finalStatus ??= status;
    this.#sendResponseText(tx, text);
    if (req.method === "INVITE" && status >= 200) {
      if (this.transport === "udp") this.#retransmitFinal(tx, text);
      if (status < 300) this.dialogs.push(Dialog.forUas(this, tx, parseMessage(text)));
    }
    return text;
  }

  #sendResponseText(tx: ServerTx, text: string): void {
    const to = this.transport !== "udp" ? tx.from : this.#responseTarget(tx);
    this.#net?.send(enc.encode(text), to, tx.conn).catch(() => {/* peer went away */});
    this.sent.push({ text, to, at: Date.now() });
  }

  #retransmitFinal(tx: ServerTx, text: string): void {
    const giveUp = 64 * this.t1;
    let elapsed = 0;
    const again = (interval: number) => {
      this.#schedule(interval, () => {
        elapsed += interval;
        if (tx.acked || elapsed >= giveUp || tx.lastResponse !== text) return;
        this.#sendResponseText(tx, text);
        again(Math.min(interval * 2, this.t2));
      }, tx.timers);
    };
    again(this.t1);
  }

  #answerInvite(tx: ServerTx): void {
    const a = typeof this.answer === "function" ? this.answer(tx.req) : this.answer;
    if (a.trying ?? true) this.respond(tx, 100);
    const provisional = a.provisional ?? [180];
    const sendFinal = () => {
      if (a.final === "none" || tx.finalStatus !== undefined) return;
      const body = a.body === undefined
        ? (a.final < 300 ? sdpBody("127.0.0.1", 40002) : "")
        : (a.body ?? "");
      this.respond(tx, a.final, { reason: a.reason, headers: a.headers, body });
    };
    const afterProvisional = () => {
      for (const s of provisional) {
        if (tx.finalStatus === undefined) this.respond(tx, s);
      }
      if (a.finalDelayMs) this.#schedule(a.finalDelayMs, sendFinal, tx.timers);
      else sendFinal();
    };
    if (a.provisionalDelayMs) this.#schedule(a.provisionalDelayMs, afterProvisional, tx.timers);
    else afterProvisional();
  }

  #answerCancel(tx: ServerTx, branch: string): void {
    const invite = this.#serverTxs.get(`${branch}|INVITE`);
    if (!invite) {
      this.respond(tx, 481);
      return;
    }
    this.respond(tx, 200);
    if (invite.finalStatus === undefined) {
      for (const t of invite.timers) clearTimeout(t);
      invite.timers.clear();
      this.respond(invite, 487);
    }
  }

  #onAck(ack: SipMessage, branch: string): void {
    // A non-2xx ACK shares the INVITE's branch; a 2xx ACK is a new transaction that
    // matches the dialog by Call-ID and CSeq number.
    const byBranch = this.#serverTxs.get(`${branch}|INVITE`);
    const callId = ack.get("call-id");
    const n = cseqNumber(ack);
    const tx = byBranch ??
      this.serverTxs.find((t) =>
        t.req.method === "INVITE" && t.req.get("call-id") === callId && cseqNumber(t.req) === n
      );
    if (tx) tx.acked = true;
  }

  // ---- UAC -----------------------------------------------------------------------------

  /** The Via header value for a request this peer sends. */
  viaFor(branch: string): string {
    const proto = this.transport.toUpperCase();
    return `SIP/2.0/${proto} ${this.#uriHost}:${this.#port};branch=${branch}`;
  }

  /** Builds the text of a request with the usual headers filled in. */
  buildRequestText(method: string, o: RequestOptions): string {
    const branch = o.branch ?? newBranch();
    const from = o.from ?? `<sip:${this.name}@${this.#uriHost}:${this.#port}>;tag=${newTag()}`;
    const headers: HeaderList = [
      ["Via", this.viaFor(branch)],
      ["Max-Forwards", String(o.maxForwards ?? 70)],
      ["From", from],
      ["To", o.to ?? `<${o.uri}>`],
      ["Call-ID", o.callId ?? newCallId(this.#host)],
      ["CSeq", `${o.cseq ?? 1} ${method}`],
    ];
    for (const r of o.route ?? []) headers.push(["Route", r]);
    if (method === "INVITE" || method === "OPTIONS" || method === "SUBSCRIBE") {
      headers.push(["Contact", this.contact]);
    }
    headers.push(["User-Agent", `vipless-test-${this.name}`]);
    headers.push(...(o.headers ?? []));
    const body = o.body ?? "";
    if (body) headers.push(["Content-Type", o.contentType ?? "application/sdp"]);
    return buildRequest(method, o.uri, headers, body);
  }

  /** Sends a request and runs its client transaction (UDP retransmissions, timeout). */
  request(to: SocketAddress, method: string, o: RequestOptions): OutgoingRequest {
    return this.sendRequestText(this.buildRequestText(method, o), to, o.timeoutMs);
  }

  /** Runs a client transaction for a ready-made request text. */
  sendRequestText(text: string, to: SocketAddress, timeoutMs?: number): OutgoingRequest {
    const out = new OutgoingRequest(text, to);
    const key = `${out.branch}|${out.msg.method}`;
    this.#clientTxs.set(key, out);
    const finish = (r: RequestResult) => {
      if (out.done.settled) return;
      for (const t of out.timers) clearTimeout(t);
      out.timers.clear();
      out.done.resolve(r);
    };
    const fail = () => finish({ status: 408, responses: out.responses, timedOut: true });
    this.send(text, to).catch(() => {
      // A refused TCP connection is a transport error: report it as RFC 3261 §8.1.3.1 says.
      finish({ status: 503, responses: out.responses, timedOut: false });
    });
    this.#schedule(timeoutMs ?? 64 * this.t1, fail, out.timers);
    if (this.transport === "udp") {
      const isInvite = out.msg.method === "INVITE";
      const again = (interval: number) => {
        this.#schedule(interval, () => {
          const provisional = out.responses.length > 0;
          if (out.done.settled || (isInvite && provisional)) return;
          this.send(text, to).catch(() => {});
          // Timer A doubles; Timer E doubles up to T2, and waits T2 once a 1xx came.
          const next = isInvite
            ? interval * 2
            : provisional
            ? this.t2
            : Math.min(2 * interval, this.t2);
          again(next);
        }, out.timers);
      };
      again(this.t1);
    }
    return out;
  }

  #onResponse(res: SipMessage): void {
    const out = this.#clientTxs.get(`${topBranch(res) ?? ""}|${res.method}`);
    if (!out) return; // stray: recorded in `received`, nothing else to do
    out.responses.push(res);
    for (const l of [...out.listeners]) l(res);
    if (res.status < 200) return;
    if (out.msg.method === "INVITE") {
      if (out.ack) {
        // A retransmitted final: the ACK got lost, send it again.
        this.send(out.ack.text, out.ack.to).catch(() => {});
      } else if (res.status >= 300) {
        // Hop by hop: same branch and Request-URI (RFC 3261 §17.1.1.3).
        out.ack = { text: sameHopRequest("ACK", out.msg, res.get("to") ?? ""), to: out.to };
        this.send(out.ack.text, out.ack.to).catch(() => {});
      }
    }
    if (!out.done.settled) {
      for (const t of out.timers) clearTimeout(t);
      out.timers.clear();
      out.done.resolve({
        status: res.status,
        final: res,
        responses: out.responses,
        timedOut: false,
      });
    }
  }
}
