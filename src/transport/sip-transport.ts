/**
 * SIP over UDP and TCP (RFC 3261 §18) on top of the runtime adapter: listeners,
 * stream framing, connection reuse per destination, and the limits on connections
 * (tcp-streams.ts). It moves bytes; it does not parse beyond framing.
 */
import type {
  Runtime,
  SocketAddress,
  TcpConnection,
  TimerHandle,
  UdpBuffers,
  UdpSocket,
} from "../runtime/types.ts";
import { normaliseHost } from "../net/address.ts";
import { PONG, StreamFramer } from "../sip/index.ts";
import { HostResolver } from "./resolver.ts";
import { type StreamEntry, StreamTable, type TcpLimits, type TcpRefusal } from "./tcp-streams.ts";
import type { Endpoint, InboundSource, OpenedListener } from "./types.ts";

export type { TcpLimits, TcpRefusal } from "./tcp-streams.ts";

export interface TransportHandlers {
  onMessage(bytes: Uint8Array, source: InboundSource): void;
  /** A message or connection was refused before parsing (framing error, oversize). */
  onDrop(reason: string, source: InboundSource): void;
  /** Sending to `to` failed at the transport (connection refused or reset). */
  onSendError?(to: Endpoint, error: Error): void;
  /** A TCP connection was refused or closed by a limit (TcpLimits). */
  onRefuse?(reason: TcpRefusal, source: Endpoint & { local: SocketAddress }): void;
  /** A UDP socket was bound with `udpBufferBytes`: what the kernel granted, or why not. */
  onUdpBuffers?(local: SocketAddress, buffers: UdpBuffers): void;
}

export interface TransportLimits {
  maxMessageBytes: number;
  tcp: TcpLimits;
  /** SO_RCVBUF/SO_SNDBUF asked for every UDP socket; null leaves the kernel's default. */
  udpBufferBytes: { receive: number; send: number } | null;
  /** Hosts whose inbound connections the per-source cap leaves alone (pair members). */
  isExempt?(host: string): boolean;
  /** Hosts blocked by per-source protection: their new connections are refused. */
  isBlocked?(host: string): boolean;
}

interface StreamState extends StreamEntry {
  conn: TcpConnection;
  framer: StreamFramer;
}

/**
 * Key of a stream's peer, computed on every TCP send. Lower case only: net's addressKey
 * would also fold other spellings of an IPv6 address, but allocates on each IPv6 send.
 */
function keyOf(host: string, port: number): string {
  return `${host.toLowerCase()}|${port}`;
}

export class SipTransport {
  readonly #rt: Runtime;
  readonly #h: TransportHandlers;
  #limits: TransportLimits;
  readonly #udp: UdpSocket[] = [];
  /** With `workers`: this worker's own sockets for the requests it sends (see listen). */
  readonly #requestUdp: UdpSocket[] = [];
  /**
   * The sockets health probes leave from and their answers return to (their Via names
   * its port): a kernel queue of their own, so that under load a probe answer is not
   * read only after every call datagram queued before it (vipless's delay, not the
   * member's). With `workers` they are the private twins above.
   */
  readonly #probeUdp: UdpSocket[] = [];
  /** Datagrams and bytes read from the SIP listeners' UDP sockets (for the queue delay). */
  readonly udpRead = { datagrams: 0, bytes: 0 };
  readonly #tcpListeners: Array<{ close(): void }> = [];
  /** Open streams; by remote host|port, inbound ones are reused for responses and requests. */
  readonly #streams: StreamTable<StreamState>;
  readonly #refusals = new Map<TcpRefusal, number>();
  /** Outbound connections being established, with the bytes waiting for them. */
  readonly #connecting = new Map<string, Uint8Array[]>();
  #sweep: TimerHandle | null = null;
  readonly #resolver: HostResolver;
  #closed = false;

  constructor(rt: Runtime, handlers: TransportHandlers, limits: TransportLimits) {
    this.#rt = rt;
    this.#h = handlers;
    this.#limits = limits;
    this.#streams = new StreamTable<StreamState>(limits.tcp);
    this.#resolver = new HostResolver((host) => rt.lookup(host), () => rt.monotonic());
  }

  /**
   * Opens the listeners. `shared` (vipless `workers`): the listeners share their ports
   * with the other workers, and each UDP listener gets a private twin on an ephemeral
   * port that sends this worker's requests, so that their responses (sent to the
   * request's source, RFC 3581 rport) come back to this worker, which holds the
   * transaction; responses still leave from the shared port.
   */
  async listen(
    specs: ReadonlyArray<{ transport: string; host: string; port: number }>,
    shared = false,
  ): Promise<OpenedListener[]> {
    const opened: OpenedListener[] = [];
    for (const spec of specs) {
      if (spec.transport === "udp") {
        const local = { host: spec.host, port: spec.port };
        const onMessage = (data: Uint8Array, from: { host: string; port: number }) => {
          const src: InboundSource = { transport: "udp", host: from.host, port: from.port, local };
          this.udpRead.datagrams++;
          this.udpRead.bytes += data.byteLength;
          if (data.byteLength > this.#limits.maxMessageBytes) {
            this.#h.onDrop("too-large", src);
            return;
          }
          this.#h.onMessage(data, src);
        };
        const bufferBytes = this.#limits.udpBufferBytes ?? undefined;
        if (shared) {
          const own = await this.#rt.bindUdp({ host: spec.host, port: 0 }, { onMessage }, {
            bufferBytes,
          });
          this.#requestUdp.push(own);
          this.#probeUdp.push(own);
          this.#reportBuffers(own);
        } else {
          this.#probeUdp.push(await this.#rt.bindUdp({ host: spec.host, port: 0 }, { onMessage }));
        }
        const sock = await this.#rt.bindUdp(local, { onMessage }, {
          reusePort: shared,
          bufferBytes,
        });
        local.port = sock.local.port;
        this.#reportBuffers(sock);
        this.#udp.push(sock);
        opened.push({ transport: "udp", host: sock.local.host, port: sock.local.port });
      } else if (spec.transport === "tcp") {
        const l = await this.#rt.listenTcp({ host: spec.host, port: spec.port }, {
          onOpen: (conn) => this.#accept(conn),
          onData: (conn, data) => this.#onStreamData(conn, data),
          onClose: (conn) => this.#forget(conn),
        }, { reusePort: shared });
        this.#tcpListeners.push(l);
        opened.push({ transport: "tcp", host: l.local.host, port: l.local.port });
      } else {
        throw new Error(`transport ${spec.transport} is not supported`);
      }
    }
    // One sweep for the transport, however many times listen() is called.
    this.#sweep ??= this.#rt.setTimer(this.#streams.sweepEveryMs(), () => this.#sweepExpired());
    return opened;
  }

  /**
   * Sends one message. Over TCP it reuses an open connection to `to` or opens one.
   * A host name is resolved first (cached); failures are reported to onSendError.
   */
  send(bytes: Uint8Array, to: Endpoint, via?: TcpConnection): void {
    if (this.#closed) return;
    const address = this.#resolver.resolve(to.host);
    if (typeof address !== "string") {
      address.then(
        (host) => this.#send(bytes, { ...to, host }, via, to),
        (err: Error) => this.#h.onSendError?.(to, err),
      );
      return;
    }
    this.#send(bytes, to, via);
  }

  /**
   * Sends a health probe: over UDP from the probe socket (whose port its Via must name:
   * `probePort`), otherwise as `send` does.
   */
  sendProbe(bytes: Uint8Array, to: Endpoint): void {
    const sock = to.transport === "udp" ? this.#probeSocketFor(to.host) : undefined;
    if (this.#closed || sock === undefined) return this.send(bytes, to);
    const address = this.#resolver.resolve(to.host);
    if (typeof address === "string") return sock.send(bytes, { ...to, host: address });
    address.then(
      (host) => this.#closed || sock.send(bytes, { ...to, host }),
      (err: Error) => this.#h.onSendError?.(to, err),
    );
  }

  /** The local port UDP probes to `host` leave from, or null without a probe socket. */
  probePort(host: string): number | null {
    return this.#probeSocketFor(host)?.local.port ?? null;
  }

  /** Bytes the kernel holds unread for the SIP listeners' UDP sockets, or null. */
  udpQueueBytes(): number | null {
    return this.#udp.length === 0
      ? null
      : this.#rt.udpReceiveQueue(this.#udp.map((s) => s.local.port));
  }

  /** Every probe socket's local port (they are "us" in a Via). */
  probePorts(): number[] {
    return this.#probeUdp.map((s) => s.local.port);
  }

  #probeSocketFor(host: string): UdpSocket | undefined {
    const v6 = host.includes(":");
    return this.#probeUdp.find((s) => s.local.host.includes(":") === v6) ?? this.#probeUdp[0];
  }

  /** `asked` is the endpoint as the caller named it, for error reports. */
  #send(bytes: Uint8Array, to: Endpoint, via?: TcpConnection, asked: Endpoint = to): void {
    if (to.transport === "udp") {
      const sock = this.#udpFor(to.host, isRequest(bytes));
      if (!sock) {
        this.#h.onSendError?.(asked, new Error("no UDP listener to send from"));
        return;
      }
      sock.send(bytes, to);
      return;
    }
    if (via && !via.closed) {
      via.write(bytes);
      this.#touch(via);
      return;
    }
    const key = keyOf(to.host, to.port);
    const open = this.#streams.get(key);
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
    this.#rt.connectTcp({ host: to.host, port: to.port }, {
      onData: (conn, data) => this.#onStreamData(conn, data),
      onClose: (conn) => this.#forget(conn),
    }).then((conn) => {
      const queued = this.#connecting.get(key) ?? [];
      this.#connecting.delete(key);
      if (this.#closed) {
        conn.close();
        return;
      }
      this.#adopt(conn, true, key);
      for (const b of queued) conn.write(b);
    }, (err: Error) => {
      this.#connecting.delete(key);
      this.#h.onSendError?.(asked, err);
    });
  }

  /** Number of open TCP connections, both directions (for metrics). */
  get connections(): number {
    return this.#streams.size;
  }

  /** Connections refused or closed by a limit so far, by reason (for metrics). */
  refusalCounts(): Array<[TcpRefusal, number]> {
    return [...this.#refusals];
  }

  /** Datagrams the kernel dropped on this transport's UDP sockets, or null (not Linux). */
  udpReceiveDrops(): number | null {
    // From each socket where the adapter can read it, else from /proc by local port.
    let total = 0;
    const unread: number[] = [];
    for (const s of [...this.#udp, ...this.#requestUdp]) {
      const n = s.receiveDrops?.() ?? null;
      if (n === null) unread.push(s.local.port);
      else total += n;
    }
    if (unread.length === 0) return this.#udp.length + this.#requestUdp.length > 0 ? total : null;
    const fromProc = this.#rt.udpReceiveDrops(unread);
    return fromProc === null && unread.length === this.#udp.length + this.#requestUdp.length
      ? null
      : total + (fromProc ?? 0);
  }

  get limits(): TransportLimits {
    return this.#limits;
  }

  /** New limits (a reload): caps and deadlines at once; the header cap for new connections. */
  setLimits(limits: TransportLimits): void {
    this.#limits = limits;
    this.#streams.limits = limits.tcp;
  }

  close(): void {
    this.#closed = true;
    if (this.#sweep) this.#rt.clearTimer(this.#sweep);
    for (const s of this.#udp) s.close();
    for (const s of this.#requestUdp) s.close();
    for (const s of this.#probeUdp) if (!this.#requestUdp.includes(s)) s.close();
    for (const l of this.#tcpListeners) l.close();
    for (const s of [...this.#streams.values()]) {
      s.conn.close();
      this.#streams.remove(s);
    }
  }

  #udpFor(host: string, request: boolean): UdpSocket | undefined {
    // Prefer a socket of the destination's address family.
    const v6 = host.includes(":");
    const pool = request && this.#requestUdp.length > 0 ? this.#requestUdp : this.#udp;
    return pool.find((s) => s.local.host.includes(":") === v6) ?? pool[0];
  }

  #reportBuffers(sock: UdpSocket): void {
    if (sock.buffers) this.#h.onUdpBuffers?.(sock.local, sock.buffers);
  }

  /** An inbound connection: refused at once (closed) when over a cap, else adopted. */
  #accept(conn: TcpConnection): void {
    const host = conn.remote.host;
    const exempt = this.#limits.isExempt?.(host) ?? false;
    let refusal: TcpRefusal | null = this.#closed
      ? null
      : !exempt && this.#limits.isBlocked?.(host)
      ? "source-blocked"
      : this.#streams.refusal(sourceOf(host), exempt);
    const idle = refusal === "connection-limit" ? this.#streams.evictable() : undefined;
    if (idle) {
      // Full: the oldest connection that never sent a message makes room.
      this.#streams.remove(idle);
      idle.conn.close();
      this.#refused("connection-limit", idle.conn);
      refusal = this.#streams.refusal(sourceOf(host), exempt);
    }
    if (this.#closed || refusal) {
      conn.close();
      if (refusal) this.#refused(refusal, conn);
      return;
    }
    this.#adopt(conn, false, keyOf(host, conn.remote.port), exempt);
  }

  #refused(reason: TcpRefusal, conn: TcpConnection): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
    this.#h.onRefuse?.(reason, {
      transport: "tcp",
      host: conn.remote.host,
      port: conn.remote.port,
      local: conn.local,
    });
  }

  #adopt(conn: TcpConnection, outbound: boolean, key: string, exempt = false) {
    const now = this.#rt.monotonic();
    const state: StreamState = {
      conn,
      framer: new StreamFramer({
        maxHeaderBytes: Math.min(this.#limits.maxMessageBytes, this.#limits.tcp.maxHeaderBytes),
        maxBodyBytes: this.#limits.maxMessageBytes,
      }),
      key,
      source: sourceOf(conn.remote.host),
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

  #onStreamData(conn: TcpConnection, data: Uint8Array): void {
    const state = this.#stateOf(conn);
    if (!state) return;
    const now = this.#rt.monotonic();
    state.lastActive = now;
    const src: InboundSource = {
      transport: "tcp",
      host: conn.remote.host,
      port: conn.remote.port,
      local: conn.local,
      conn,
      outbound: state.outbound,
    };
    for (const ev of state.framer.push(data)) {
      if (ev.type === "message") {
        if (!state.delivered) this.#streams.delivered(state);
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

  #forget(conn: TcpConnection): void {
    const state = this.#stateOf(conn);
    if (state) this.#streams.remove(state);
  }

  #sweepExpired(): void {
    if (this.#closed) return;
    for (const [s, reason] of this.#streams.expired(this.#rt.monotonic())) {
      this.#streams.remove(s);
      s.conn.close();
      // Closing an idle connection vipless opened itself is housekeeping, not a refusal.
      if (!(s.outbound && reason === "idle-timeout")) this.#refused(reason, s.conn);
    }
    this.#sweep = this.#rt.setTimer(this.#streams.sweepEveryMs(), () => this.#sweepExpired());
  }
}

/** The remote address as counted per source: one spelling per address (::ffff:a.b.c.d is a.b.c.d). */
const sourceOf = normaliseHost;

/** A request starts with its method; a response with "SIP/". */
function isRequest(bytes: Uint8Array): boolean {
  return !(bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f);
}
