/**
 * SIP over UDP, TCP and TLS (RFC 3261 §18) on top of the runtime adapter: the UDP
 * sockets here, the streams in stream-transport.ts (framing, connection reuse per
 * destination, the limits on connections). It moves bytes; it does not parse beyond
 * framing (and, on TLS, a request's top Via for RFC 5923 alias: via-alias.ts).
 */
import type {
  Runtime,
  SocketAddress,
  TcpConnection,
  TimerHandle,
  UdpBuffers,
  UdpSocket,
} from "../runtime/types.ts";
import { HostResolver } from "./resolver.ts";
import { type StreamHandlers, StreamTransport, type TlsFailure } from "./stream-transport.ts";
import type { TcpLimits, TcpRefusal } from "./tcp-streams.ts";
import type { TlsMaterial } from "./tls-files.ts";
import type { Endpoint, InboundSource, OpenedListener } from "./types.ts";
import type { AliasRefusal, AliasTarget } from "./via-alias.ts";

export type { TcpLimits, TcpRefusal } from "./tcp-streams.ts";
export type { TlsFailure } from "./stream-transport.ts";
export { ALIAS_REFUSALS, type AliasRefusal } from "./via-alias.ts";

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
  /** A TLS handshake failed or stalled; that connection is closed. */
  onTlsError?(kind: TlsFailure, peer: SocketAddress, error: Error): void;
  /**
   * A TLS request's Via asked for RFC 5923 alias and its client's certificate does not
   * prove the sent-by host (none, unverified, another name): later requests to that
   * address open their own connection.
   */
  onAliasIgnored?(reason: AliasRefusal, src: InboundSource, target: AliasTarget): void;
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
  /** TCP and TLS: listeners, connections both ways, their limits. */
  readonly #streams: StreamTransport;
  #tls: TlsMaterial | null = null;
  #sweep: TimerHandle | null = null;
  readonly #resolver: HostResolver;
  #closed = false;

  constructor(rt: Runtime, handlers: TransportHandlers, limits: TransportLimits) {
    this.#rt = rt;
    this.#h = handlers;
    this.#limits = limits;
    this.#streams = new StreamTransport(rt, handlers as StreamHandlers, () => this.#limits);
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
        opened.push(await this.#streams.listenTcp({ host: spec.host, port: spec.port }, shared));
      } else if (spec.transport === "tls") {
        const server = this.#tls?.server;
        if (!server) throw new Error(`tls://${spec.host}:${spec.port} needs tls.cert and tls.key`);
        opened.push(await this.#streams.listenTls({ host: spec.host, port: spec.port }, server));
      } else {
        throw new Error(`transport ${spec.transport} is not supported`);
      }
    }
    // One sweep for the transport, however many times listen() is called.
    this.#sweep ??= this.#rt.setTimer(this.#streams.sweepEveryMs(), () => this.#sweepExpired());
    return opened;
  }

  /**
   * The TLS material (certificate for the listeners, how members are checked); set
   * before `listen`, and again on a reload: new connections get the new certificate.
   */
  async setTls(material: TlsMaterial): Promise<void> {
    const reload = this.#tls?.server && material.server;
    this.#tls = material;
    this.#streams.clientTls = (to) => material.client(to, this.#limits.tcp.messageTimeoutMs);
    if (reload) await this.#streams.reloadTls(material.server!);
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
        // A TLS peer's certificate is checked against the name, not the address.
        (host) => this.#send(bytes, { ...to, host, serverName: to.serverName ?? to.host }, via, to),
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
    this.#streams.send(bytes, to, via, asked);
  }

  /** Number of open TCP and TLS connections, both directions (for metrics). */
  get connections(): number {
    return this.#streams.connections;
  }

  /** Connections refused or closed by a limit so far, by reason (for metrics). */
  refusalCounts(): Array<[TcpRefusal, number]> {
    return this.#streams.refusalCounts();
  }

  /** TLS connections that failed before carrying SIP, by kind (for metrics). */
  tlsFailureCounts(): Array<[TlsFailure, number]> {
    return this.#streams.tlsFailureCounts();
  }

  /** RFC 5923 aliases not honoured, by why (for metrics). */
  aliasRefusalCounts(): Array<[AliasRefusal, number]> {
    return this.#streams.aliasRefusalCounts();
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
    this.#streams.setLimits(limits);
  }

  close(): void {
    this.#closed = true;
    if (this.#sweep) this.#rt.clearTimer(this.#sweep);
    for (const s of this.#udp) s.close();
    for (const s of this.#requestUdp) s.close();
    for (const s of this.#probeUdp) if (!this.#requestUdp.includes(s)) s.close();
    this.#streams.close();
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

  #sweepExpired(): void {
    if (this.#closed) return;
    this.#streams.sweep();
    this.#sweep = this.#rt.setTimer(this.#streams.sweepEveryMs(), () => this.#sweepExpired());
  }
}

/** A request starts with its method; a response with "SIP/". */
function isRequest(bytes: Uint8Array): boolean {
  return !(bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f);
}
