/**
 * A fake SIP server: plays one member of a primary/backup pair in tests.
 *
 * By default it answers OPTIONS 200 and INVITE with 100, 180, then 200 (To tag, Contact,
 * Record-Route copied, SDP), absorbs ACK, answers BYE and CANCEL; `answer` chooses
 * another final (486, 503), delays, or silence; `respondOptions = false` mutes it to
 * probes. `stop()` closes its sockets (a dead member) and `restart()` brings it back on
 * the same port. It can also send requests itself (`sendRequest`), as a backup that has
 * taken over does.
 */
import {
  type InviteAnswer,
  type OutgoingRequest,
  type PeerOptions,
  type RequestOptions,
  SipPeer,
  type SocketAddress,
  type Transport,
} from "./sip-peer.ts";
import { Call, type CallOptions } from "./call.ts";
import { sdpBody } from "./sip-text.ts";

export { SILENT } from "./sip-peer.ts";
export type { InviteAnswer };

export interface FakeSipServerOptions extends Partial<PeerOptions> {
  transport: Transport;
}

export class FakeSipServer extends SipPeer {
  static async start(opts: FakeSipServerOptions): Promise<FakeSipServer> {
    const s = new FakeSipServer({ name: "server", ...opts });
    await s.bind();
    return s;
  }

  /** Binds again on the same port after stop(); the recorded messages are kept. */
  async restart(): Promise<void> {
    await this.bind();
  }

  /**
   * Sends a request of its own (e.g. a backup that took over calling an endpoint through
   * the proxy). `uri` defaults to the destination. An INVITE is ACKed like a UA would.
   */
  sendRequest(
    to: SocketAddress,
    method: string,
    o: Partial<RequestOptions> & CallOptions = {},
  ): OutgoingRequest {
    const uri = o.uri ?? `sip:${to.host}:${to.port}`;
    if (method !== "INVITE") return this.request(to, method, { ...o, uri });
    const text = this.buildRequestText("INVITE", { ...o, uri, body: o.body ?? sdpBody() });
    return new Call(this, text, to, o).request;
  }

  /** Like sendRequest for INVITE, but returns the Call (dialog, CANCEL). */
  invite(to: SocketAddress, o: Partial<RequestOptions> & CallOptions = {}): Call {
    const uri = o.uri ?? `sip:${to.host}:${to.port}`;
    const text = this.buildRequestText("INVITE", { ...o, uri, body: o.body ?? sdpBody() });
    return new Call(this, text, to, o);
  }
}
