/**
 * SIP over streams, TCP and TLS (RFC 3261 §18, §26.3.1): listeners, framing,
 * connection reuse per destination in both directions (an inbound connection carries
 * the responses and the later requests to its peer, RFC 5923 style), and the limits on
 * connections (tcp-streams.ts), which TLS connections share with TCP ones. A TLS
 * connection is handed over only once its handshake succeeded within
 * `tcp.message_timeout`; a failed handshake (a wrong-name, expired or untrusted
 * certificate, plain text on the TLS port) is reported to `onTlsError` and counted.
 * A TLS request whose top Via asks for RFC 5923 `alias` adds its sent-by to the
 * connection's keys when the client's certificate proves that host (via-alias.ts).
 */
import type {
  Runtime,
  SocketAddress,
  TcpConnection,
  TcpHandlers,
  TlsClientOptions,
  TlsListener,
  TlsServerOptions,
} from "../runtime/types.ts";
import { normaliseHost } from "../net/address.ts";
import { PONG, StreamFramer } from "../sip/index.ts";
import { type StreamEntry, StreamTable, type TcpRefusal } from "./tcp-streams.ts";
import type { Endpoint, InboundSource, OpenedListener } from "./types.ts";
import type { TransportHandlers, TransportLimits } from "./sip-transport.ts";
import { aliasOf, type AliasRefusal, aliasRefusal, type AliasTarget } from "./via-alias.ts";

export type StreamTransportName = "tcp" | "tls";

/** Why a TLS connection failed before carrying SIP (vipless_tls_failures_total). */
export type TlsFailure = "inbound-handshake" | "outbound-handshake";

export interface StreamHandlers extends TransportHandlers {
  onTlsError?(kind: TlsFailure, peer: SocketAddress, error: Error): void;
  /** A TLS request's Via alias was not honoured: its client did not prove `target` its own. */
  onAliasIgnored?(reason: AliasRefusal, src: InboundSource, target: AliasTarget): void;
}

interface StreamState extends StreamEntry {
  conn: TcpConnection;
  framer: StreamFramer;
  transport: StreamTransportName;
}

/** Key of a stream's peer: transport, host (lower case) and port. */
function keyOf(transport: string, host: string, port: number): string {
  return `${transport}|${host.toLowerCase()}|${port}`;
}

/** How TLS connections to servers are made: the name a destination's certificate must carry. */
export type ClientTls = (to: Endpoint) => TlsClientOptions;

export class StreamTransport {
  readonly #rt: Runtime;
  readonly #h: StreamHandlers;
  readonly #limits: () => TransportLimits;
  readonly #listeners: Array<{ close(): void }> = [];
  #tlsListeners: TlsListener[] = [];
  readonly #streams: StreamTable<StreamState>;
  readonly #refusals = new Map<TcpRefusal, number>();
  readonly #tlsFailures = new Map<TlsFailure, number>();
  readonly #aliasRefusals = new Map<AliasRefusal, number>();
  /** Outbound connections being established, with the bytes waiting for them. */
  readonly #connecting = new Map<string, Uint8Array[]>();
  #clientTls: ClientTls | null = null;
  #closed = false;

  constructor(rt: Runtime, handlers: StreamHandlers, limits: () => TransportLimits) {
    this.#rt = rt;
    this.#h = handlers;
    this.#limits = limits;
    this.#streams = new StreamTable<StreamState>(limits().tcp);
  }

  #handlers(transport: StreamTransportName): TcpHandlers & { onOpen(c: TcpConnection): void } {
    return {
      onOpen: (conn) => this.#accept(conn, transport),
      onData: (conn, data) => this.#onData(conn, data),
      onClose: (conn) => this.#forget(conn),
    };
  }

  async listenTcp(spec: SocketAddress, shared: boolean): Promise<OpenedListener> {
    const l = await this.#rt.listenTcp(spec, this.#handlers("tcp"), { reusePort: shared });
    this.#listeners.push(l);
    return { transport: "tcp", host: l.local.host, port: l.local.port };
  }

  async listenTls(spec: SocketAddress, tls: Omit<TlsServerOptions, "handshakeTimeoutMs">) {
    const l = await this.#rt.listenTls(spec, {
      ...this.#handlers("tls"),
      onHandshakeError: (peer, e) => this.#tlsFailed("inbound-handshake", peer, e),
    }, { ...tls, handshakeTimeoutMs: this.#limits().tcp.messageTimeoutMs });
    this.#tlsListeners.push(l);
    return { transport: "tls" as const, host: l.local.host, port: l.local.port };
  }

  /** A new certificate for the TLS listeners; established connections are kept. */
  async reloadTls(tls: Omit<TlsServerOptions, "handshakeTimeoutMs">): Promise<void> {
    const options = { ...tls, handshakeTimeoutMs: this.#limits().tcp.messageTimeoutMs };
    const next: TlsListener[] = [];
    for (const l of this.#tlsListeners) next.push(await l.reload(options));
    this.#tlsListeners = next;
  }

  /** How outbound TLS connections check their server (set from the config's tls section). */
  set clientTls(make: ClientTls) {
    this.#clientTls = make;
  }

  /** Sends over a stream: `via` while open, else an open one to `to`, else a new one. */
  send(bytes: Uint8Array, to: Endpoint, via?: TcpConnection, asked: Endpoint = to): void {
    if (this.#closed) return;
    if (via && !via.closed) {
      via.write(bytes);
      this.#touch(via);
      return;
    }
    const transport: StreamTransportName = to.transport === "tls" ? "tls" : "tcp";
    const key = keyOf(transport, to.host, to.port);
    // An alias may name the peer by the DNS name its Via gave, before resolution.
    const open = this.#streams.get(key) ??
      (asked.host === to.host
        ? undefined
        : this.#streams.get(keyOf(transport, asked.host, to.port)));
    if (open && !open.conn.closed) {
      open.conn.write(bytes);
      open.lastActive = this.#rt.monotonic();
      return;
    }
    const waiting = this.#connecting.get(key);
    if (waiting) {
      waiting.push(bytes);
      return;
    }
    this.#connecting.set(key, [bytes]);
    const handlers: TcpHandlers = {
      onData: (conn, data) => this.#onData(conn, data),
      onClose: (conn) => this.#forget(conn),
    };
    const addr = { host: to.host, port: to.port };
    const connecting = transport === "tls"
      ? this.#connectTls(addr, to, handlers)
      : this.#rt.connectTcp(addr, handlers);
    connecting.then((conn) => {
      const queued = this.#connecting.get(key) ?? [];
      this.#connecting.delete(key);
      if (this.#closed) return conn.close();
      if (conn.local.port === conn.remote.port && conn.local.host === conn.remote.host) {
        // A connect to a free local port can meet itself (TCP simultaneous open): it
        // would read back what it sends. The port is closed: a transport error.
        conn.close();
        return this.#h.onSendError?.(asked, new Error("TCP connection to itself"));
      }
      this.#adopt(conn, transport, true, key);
      for (const b of queued) conn.write(b);
    }, (err: Error) => {
      this.#connecting.delete(key);
      this.#h.onSendError?.(asked, err);
    });
  }

  #connectTls(addr: SocketAddress, to: Endpoint, handlers: TcpHandlers): Promise<TcpConnection> {
    const options = this.#clientTls?.(to) ?? {
      serverName: to.host,
      verify: true,
      handshakeTimeoutMs: this.#limits().tcp.messageTimeoutMs,
    };
    return this.#rt.connectTls(addr, handlers, options).catch((e: Error) => {
      this.#tlsFailed("outbound-handshake", addr, e);
      throw e;
    });
  }

  get connections(): number {
    return this.#streams.size;
  }

  refusalCounts(): Array<[TcpRefusal, number]> {
    return [...this.#refusals];
  }

  /** TLS connections that failed before carrying SIP, by kind (for metrics). */
  tlsFailureCounts(): Array<[TlsFailure, number]> {
    return [...this.#tlsFailures];
  }

  /** RFC 5923 aliases not honoured, by why (for metrics). */
  aliasRefusalCounts(): Array<[AliasRefusal, number]> {
    return [...this.#aliasRefusals];
  }

  setLimits(limits: TransportLimits): void {
    this.#streams.limits = limits.tcp;
  }

  sweepEveryMs(): number {
    return this.#streams.sweepEveryMs();
  }

  close(): void {
    this.#closed = true;
    for (const l of [...this.#listeners, ...this.#tlsListeners]) l.close();
    for (const s of [...this.#streams.values()]) {
      s.conn.close();
      this.#streams.remove(s);
    }
  }

  #tlsFailed(kind: TlsFailure, peer: SocketAddress, e: Error): void {
    this.#tlsFailures.set(kind, (this.#tlsFailures.get(kind) ?? 0) + 1);
    this.#h.onTlsError?.(kind, peer, e);
  }

  /** An inbound connection: refused at once (closed) when over a cap, else adopted. */
  #accept(conn: TcpConnection, transport: StreamTransportName): void {
    const host = conn.remote.host;
    const limits = this.#limits();
    const exempt = limits.isExempt?.(host) ?? false;
    let refusal: TcpRefusal | null = this.#closed
      ? null
      : !exempt && limits.isBlocked?.(host)
      ? "source-blocked"
      : this.#streams.refusal(normaliseHost(host), exempt);
    const idle = refusal === "connection-limit" ? this.#streams.evictable() : undefined;
    if (idle) {
      // Full: the oldest connection that never sent a message makes room.
      this.#streams.remove(idle);
      idle.conn.close();
      this.#refused("connection-limit", idle.conn, idle.transport);
      refusal = this.#streams.refusal(normaliseHost(host), exempt);
    }
    if (this.#closed || refusal) {
      conn.close();
      if (refusal) this.#refused(refusal, conn, transport);
      return;
    }
    this.#adopt(conn, transport, false, keyOf(transport, host, conn.remote.port), exempt);
  }

  #refused(reason: TcpRefusal, conn: TcpConnection, transport: StreamTransportName): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
    this.#h.onRefuse?.(reason, {
      transport,
      host: conn.remote.host,
      port: conn.remote.port,
      local: conn.local,
    });
  }

  #adopt(
    conn: TcpConnection,
    transport: StreamTransportName,
    outbound: boolean,
    key: string,
    exempt = false,
  ) {
    const now = this.#rt.monotonic();
    const limits = this.#limits();
    const state: StreamState = {
      conn,
      transport,
      framer: new StreamFramer({
        maxHeaderBytes: Math.min(limits.maxMessageBytes, limits.tcp.maxHeaderBytes),
        maxBodyBytes: limits.maxMessageBytes,
      }),
      key,
      source: normaliseHost(conn.remote.host),
      outbound,
      exempt,
      openedAt: now,
      lastActive: now,
      partialSince: -1,
      delivered: false,
    };
    this.#streams.add(state);
    (conn as unknown as { __vipless?: StreamState }).__vipless = state;
    // Closed between the runtime's accept and here: onClose has run already.
    if (conn.closed) this.#streams.remove(state);
  }

  #stateOf(conn: TcpConnection): StreamState | undefined {
    return (conn as unknown as { __vipless?: StreamState }).__vipless;
  }

  #touch(conn: TcpConnection): void {
    const s = this.#stateOf(conn);
    if (s) s.lastActive = this.#rt.monotonic();
  }

  #onData(conn: TcpConnection, data: Uint8Array): void {
    const state = this.#stateOf(conn);
    if (!state) return;
    const now = this.#rt.monotonic();
    state.lastActive = now;
    const src: InboundSource = {
      transport: state.transport,
      host: conn.remote.host,
      port: conn.remote.port,
      local: conn.local,
      conn,
      outbound: state.outbound,
    };
    for (const ev of state.framer.push(data)) {
      if (ev.type === "message") {
        if (!state.delivered) this.#streams.delivered(state);
        if (state.transport === "tls" && !state.outbound) this.#alias(state, ev.bytes, src);
        this.#h.onMessage(ev.bytes, src);
      } else if (ev.type === "pong") conn.write(PONG);
      else {
        this.#h.onDrop(ev.reason, src);
        conn.close();
        return;
      }
    }
    // A message begun and not finished starts (or keeps) its deadline.
    if (state.framer.buffered === 0) state.partialSince = -1;
    else if (state.partialSince < 0) state.partialSince = now;
  }

  /** Honours the request's Via alias when the client's certificate proves its host. */
  #alias(state: StreamState, bytes: Uint8Array, src: InboundSource): void {
    const target = aliasOf(bytes);
    if (target === null) return;
    const refusal = aliasRefusal(state.conn.peerCertificate, target.host);
    if (refusal === null) {
      this.#streams.alias(state, keyOf("tls", target.host, target.port));
      return;
    }
    this.#aliasRefusals.set(refusal, (this.#aliasRefusals.get(refusal) ?? 0) + 1);
    this.#h.onAliasIgnored?.(refusal, src, target);
  }

  #forget(conn: TcpConnection): void {
    const state = this.#stateOf(conn);
    if (state) this.#streams.remove(state);
  }

  /** Closes what a limit says must go (called by the transport's sweep timer). */
  sweep(): void {
    if (this.#closed) return;
    for (const [s, reason] of this.#streams.expired(this.#rt.monotonic())) {
      this.#streams.remove(s);
      s.conn.close();
      // Closing an idle connection vipless opened itself is housekeeping, not a refusal.
      if (!(s.outbound && reason === "idle-timeout")) this.#refused(reason, s.conn, s.transport);
    }
  }
}
