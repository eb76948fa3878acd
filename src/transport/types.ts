import type { Transport } from "../net/transport.ts";
import type { SocketAddress, TcpConnection } from "../runtime/types.ts";

export type { PlainTransport, Transport } from "../net/transport.ts";

/** The transports the sockets carry; the proxy uses this name. */
export type SipTransportName = Transport;

/** Where a SIP message goes or came from. */
export interface Endpoint {
  transport: Transport;
  host: string;
  port: number;
  /**
   * TLS: the name the server's certificate must carry when `host` is the address a
   * name resolved to (RFC 5922: the member's configured host); absent, `host` itself.
   */
  serverName?: string;
}

/** Where an inbound message came from, and the listener or connection it came through. */
export interface InboundSource extends Endpoint {
  /** The local address it arrived on. */
  local: SocketAddress;
  /** The stream it arrived on (TCP), so responses can reuse it while it is open. */
  conn?: TcpConnection;
  /**
   * True when that stream is one vipless opened to host:port: then the peer is whoever
   * listens there, which is what identifies a pair member over TCP (never a Via).
   */
  outbound?: boolean;
}

export interface OpenedListener {
  transport: Transport;
  host: string;
  port: number;
}
