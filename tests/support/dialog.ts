/**
 * A dialog as a test endpoint keeps it (RFC 3261 §12): route set, remote target, tags
 * and CSeq, so in-dialog requests (ACK for 2xx, BYE, re-INVITE) follow the
 * Record-Route set through the proxy exactly as a real endpoint would send them.
 */
import type { OutgoingRequest, RequestResult, ServerTx, SipPeer } from "./sip-peer.ts";
import type { SocketAddress } from "./peer-transport.ts";
import { Call, type CallResult } from "./call.ts";
import {
  cseqNumber,
  getParam,
  type HeaderList,
  parseUri,
  type SipMessage,
  uriOf,
} from "./sip-text.ts";

export interface InDialogOptions {
  headers?: HeaderList;
  body?: string;
  contentType?: string;
  timeoutMs?: number;
}

export class Dialog {
  /** Set when the other side sent BYE, or our BYE got a 2xx. */
  terminated = false;

  constructor(
    readonly peer: SipPeer,
    readonly callId: string,
    readonly localUri: string,
    readonly localTag: string,
    readonly remoteUri: string,
    readonly remoteTag: string,
    /** Contact of the other side: the Request-URI of in-dialog requests. */
    public remoteTarget: string,
    /** Route header values for in-dialog requests, first hop first. */
    readonly routeSet: string[],
    public localSeq: number,
  ) {}

  /** The caller's view, from its INVITE and the 2xx (route set = Record-Route reversed, §12.1.2). */
  static forUac(peer: SipPeer, invite: SipMessage, res: SipMessage): Dialog {
    return Dialog.#between(peer, invite, {
      local: invite.get("from") ?? "",
      remote: res.get("to") ?? "",
      remoteTarget: res.get("contact") ?? invite.uri,
      routeSet: res.getAll("record-route").reverse(),
      localSeq: cseqNumber(invite),
    });
  }

  /** The callee's view, from the INVITE and its own 2xx (route set = Record-Route as is, §12.1.1). */
  static forUas(peer: SipPeer, tx: ServerTx, res: SipMessage): Dialog {
    const req = tx.req;
    return Dialog.#between(peer, req, {
      // The 2xx's To is the request's with our tag added.
      local: res.get("to") ?? "",
      remote: req.get("from") ?? "",
      remoteTarget: req.get("contact") ?? req.uri,
      routeSet: req.getAll("record-route"),
      localSeq: 100,
    });
  }

  /** A dialog of the INVITE's Call-ID between two From/To header values (URI and tag each). */
  static #between(
    peer: SipPeer,
    invite: SipMessage,
    o: {
      local: string;
      remote: string;
      remoteTarget: string;
      routeSet: string[];
      localSeq: number;
    },
  ): Dialog {
    return new Dialog(
      peer,
      invite.get("call-id") ?? "",
      uriOf(o.local),
      getParam(o.local, "tag") ?? "",
      uriOf(o.remote),
      getParam(o.remote, "tag") ?? "",
      uriOf(o.remoteTarget),
      o.routeSet,
      o.localSeq,
    );
  }

  /**
   * Request-URI, Route values and next hop for an in-dialog request (RFC 3261 §12.2.1.1):
   * loose routing when the first route has `lr`, strict routing otherwise.
   */
  target(): { uri: string; route: string[]; to: SocketAddress } {
    if (this.routeSet.length === 0) {
      return { uri: this.remoteTarget, route: [], to: this.peer.addressOf(this.remoteTarget) };
    }
    const first = uriOf(this.routeSet[0]);
    const to = this.peer.addressOf(first);
    if ("lr" in parseUri(first).params) return { uri: this.remoteTarget, route: this.routeSet, to };
    return {
      uri: first,
      route: [...this.routeSet.slice(1), `<${this.remoteTarget}>`],
      to,
    };
  }

  #text(method: string, cseq: number, o: InDialogOptions): { text: string; to: SocketAddress } {
    const t = this.target();
    const text = this.peer.buildRequestText(method, {
      uri: t.uri,
      from: `<${this.localUri}>;tag=${this.localTag}`,
      to: `<${this.remoteUri}>;tag=${this.remoteTag}`,
      callId: this.callId,
      cseq,
      route: t.route,
      headers: o.headers,
      body: o.body,
      contentType: o.contentType,
    });
    return { text, to: t.to };
  }

  /** Sends the ACK for a 2xx: a new transaction along the route set (RFC 3261 §13.2.2.4). */
  ack(cseq: number, o: InDialogOptions = {}): { text: string; to: SocketAddress } {
    const a = this.#text("ACK", cseq, o);
    this.peer.send(a.text, a.to).catch(() => {});
    return a;
  }

  /** Sends an in-dialog request with the next CSeq. */
  request(method: string, o: InDialogOptions = {}): OutgoingRequest {
    const { text, to } = this.#text(method, ++this.localSeq, o);
    return this.peer.sendRequestText(text, to, o.timeoutMs);
  }

  /** BYE through the route set; resolves with its final response. */
  async bye(o: InDialogOptions = {}): Promise<RequestResult> {
    const r = await this.request("BYE", o).result;
    if (r.status >= 200 && r.status < 300) this.terminated = true;
    return r;
  }

  /** A re-INVITE (default body: a fresh SDP offer); the 2xx is ACKed along the route set. */
  reinvite(o: InDialogOptions = {}): Promise<CallResult> {
    const { text, to } = this.#text("INVITE", ++this.localSeq, {
      ...o,
      body: o.body ?? Call.defaultOffer(),
    });
    return new Call(this.peer, text, to, { timeoutMs: o.timeoutMs, dialog: this }).result;
  }
}
