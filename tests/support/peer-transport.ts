/**
 * Sockets for a test peer: one UDP socket, or one TCP (or TLS) listener plus the
 * connections it accepted or opened. Built on the project's runtime adapter so the same
 * peers run under Bun and Deno. TLS peers use the certificate given to `setPeerTls`.
 */
import {
  detectRuntime,
  type Runtime,
  type SocketAddress,
  type TcpConnection,
  type TcpListener,
  type UdpSocket,
} from "../../src/runtime/index.ts";
import { SipFramer } from "./sip-framer.ts";

export type Transport = "udp" | "tcp" | "tls";

/** The TLS peers' certificate (for their listeners) and the CA they trust (as clients). */
let peerTls: { cert: string; key: string; ca: string } | null = null;
export function setPeerTls(tls: { cert: string; key: string; ca: string }): void {
  peerTls = tls;
}
function tlsOrThrow() {
  if (!peerTls) throw new Error("a TLS peer needs setPeerTls() first");
  return peerTls;
}
export type { SocketAddress, TcpConnection };

/** Called for every complete message; `conn` is the TCP connection it came on. */
export type OnBytes = (bytes: Uint8Array, from: SocketAddress, conn?: TcpConnection) => void;

let runtime: Promise<Runtime> | undefined;
/** The runtime adapter, created once per process. */
export function getRuntime(): Promise<Runtime> {
  runtime ??= detectRuntime();
  return runtime;
}

const keyOf = (a: SocketAddress) => `${a.host}:${a.port}`;

export class PeerTransport {
  #udp: UdpSocket | undefined;
  #listener: TcpListener | undefined;
  /** Open TCP connections by remote address, so requests and responses reuse them. */
  #conns = new Map<string, TcpConnection>();
  #framers = new WeakMap<TcpConnection, SipFramer>();
  #closed = false;

  /** Where the socket is bound (the real port once an ephemeral one was asked for). */
  local: SocketAddress = { host: "", port: 0 };

  private constructor(
    readonly rt: Runtime,
    readonly transport: Transport,
    readonly onBytes: OnBytes,
  ) {}

  static async open(
    transport: Transport,
    addr: SocketAddress,
    onBytes: OnBytes,
  ): Promise<PeerTransport> {
    const t = new PeerTransport(await getRuntime(), transport, onBytes);
    await t.#bind(addr);
    return t;
  }

  async #bind(addr: SocketAddress): Promise<void> {
    if (this.transport === "udp") {
      this.#udp = await this.rt.bindUdp(addr, {
        // The adapter may reuse its buffer after the call: keep a copy.
        onMessage: (data, from) => this.onBytes(data.slice(), from),
        onError() {/* a lost datagram is what UDP does; retransmissions cover it */},
      });
      this.local = this.#udp.local;
      return;
    }
    const handlers = {
      onOpen: (conn: TcpConnection) => this.#conns.set(keyOf(conn.remote), conn),
      onData: (conn: TcpConnection, data: Uint8Array) => this.#feed(conn, data),
      onClose: (conn: TcpConnection) => this.#forget(conn),
    };
    this.#listener = this.transport === "tls"
      ? await this.rt.listenTls(addr, handlers, { ...tlsOrThrow(), handshakeTimeoutMs: 5000 })
      : await this.rt.listenTcp(addr, handlers);
    this.local = this.#listener.local;
  }

  #feed(conn: TcpConnection, data: Uint8Array) {
    let f = this.#framers.get(conn);
    if (!f) this.#framers.set(conn, f = new SipFramer());
    for (const msg of f.push(data)) this.onBytes(msg, conn.remote, conn);
  }

  #forget(conn: TcpConnection) {
    const key = keyOf(conn.remote);
    if (this.#conns.get(key) === conn) this.#conns.delete(key);
  }

  /**
   * Sends one message. Over TCP it uses `via` when still open, else an open connection
   * to `to`, else connects (rejects when the connection is refused).
   */
  async send(bytes: Uint8Array, to: SocketAddress, via?: TcpConnection): Promise<void> {
    if (this.#closed) throw new Error("peer is stopped");
    if (this.#udp) {
      this.#udp.send(bytes, to);
      return;
    }
    let conn = via && !via.closed ? via : this.#conns.get(keyOf(to));
    if (!conn || conn.closed) {
      const handlers = {
        onData: (c: TcpConnection, data: Uint8Array) => this.#feed(c, data),
        onClose: (c: TcpConnection) => this.#forget(c),
      };
      conn = this.transport === "tls"
        ? await this.rt.connectTls(to, handlers, {
          serverName: to.host,
          ca: tlsOrThrow().ca,
          verify: true,
          handshakeTimeoutMs: 5000,
        })
        : await this.rt.connectTcp(to, handlers);
      // Register under the address we dialled: the answer's source is that address.
      this.#conns.set(keyOf(to), conn);
    }
    conn.write(bytes);
  }

  /** Open TCP connections (accepted or dialled). */
  get connections(): TcpConnection[] {
    return [...this.#conns.values()];
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#udp?.close();
    this.#listener?.close();
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
  }
}
