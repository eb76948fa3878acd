/**
 * A test user agent: an endpoint that places calls through the proxy and asserts on
 * what comes back. `call()` runs INVITE to the end (ACK included) and returns the
 * results with the dialog; `invite()` returns the Call while it runs (for CANCEL).
 * It answers incoming requests like a phone: INVITE 180 then 200, BYE 200, OPTIONS 200.
 */
import {
  type PeerOptions,
  type RequestOptions,
  type RequestResult,
  SipPeer,
  type SocketAddress,
  type Transport,
} from "./sip-peer.ts";
import { Call, type CallOptions, type CallResult } from "./call.ts";
import type { HeaderList } from "./sip-text.ts";

export type { CallResult, RequestResult };

export interface TestUaOptions extends Partial<PeerOptions> {
  transport: Transport;
}

export interface InviteOptions extends CallOptions {
  /** The callee, e.g. "sip:bob@127.0.0.1:5070"; goes in To. */
  to: string;
  /** Request-URI (default: `to`). */
  requestUri?: string;
  from?: string;
  callId?: string;
  cseq?: number;
  route?: string[];
  headers?: HeaderList;
  /** Body (default: an SDP offer; "" for none). */
  body?: string;
  contentType?: string;
  maxForwards?: number;
}

export class TestUa extends SipPeer {
  static async start(opts: TestUaOptions): Promise<TestUa> {
    const ua = new TestUa({ name: "alice", ...opts });
    await ua.bind();
    return ua;
  }

  /** Starts an INVITE towards `target` (the proxy) and returns it while it runs. */
  invite(target: SocketAddress, o: InviteOptions): Call {
    const text = this.buildRequestText("INVITE", {
      uri: o.requestUri ?? o.to,
      to: `<${o.to}>`,
      from: o.from,
      callId: o.callId,
      cseq: o.cseq,
      route: o.route,
      headers: o.headers,
      body: o.body ?? Call.defaultOffer(),
      contentType: o.contentType,
      maxForwards: o.maxForwards,
    });
    return new Call(this, text, target, o);
  }

  /** A whole call attempt: INVITE, provisional responses, final, ACK. */
  call(target: SocketAddress, o: InviteOptions): Promise<CallResult> {
    return this.invite(target, o).result;
  }

  /** OPTIONS to `target`; `uri` defaults to the target's address. */
  options(target: SocketAddress, o: Partial<RequestOptions> = {}): Promise<RequestResult> {
    const uri = o.uri ?? `sip:${target.host}:${target.port}`;
    return this.request(target, "OPTIONS", { ...o, uri }).result;
  }
}
