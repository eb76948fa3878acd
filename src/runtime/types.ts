/**
 * The one interface between vipless and the JavaScript runtime it runs on.
 *
 * Everything that touches sockets, clocks, timers, signals, files, the environment or
 * the process lives behind this interface; `bun.ts` and `deno.ts` implement it with
 * each runtime's native APIs, and no file outside `src/runtime/` names `Bun` or `Deno`.
 */

import type { OpenFileLimit, UdpBuffers } from "./libc.ts";
export type { OpenFileLimit, UdpBuffers } from "./libc.ts";

export type RuntimeName = "bun" | "deno";

export interface SocketAddress {
  host: string;
  port: number;
}

export interface UdpHandlers {
  /** A datagram arrived. `data` is only valid during the call when the runtime reuses buffers. */
  onMessage(data: Uint8Array, from: SocketAddress): void;
}

export interface UdpSocket {
  readonly local: SocketAddress;
  /** The buffer sizes the kernel granted when `bufferBytes` was asked at bind, or why not. */
  readonly buffers?: UdpBuffers;
  /**
   * Datagrams the kernel dropped on this socket (a full receive buffer), read from the
   * socket itself; null (or absent) where the adapter cannot, see udpReceiveDrops.
   */
  receiveDrops?(): number | null;
  /** Fire-and-forget send; errors are reported to `onError` given at bind time, never thrown. */
  send(data: Uint8Array, to: SocketAddress): void;
  close(): void;
}

export interface TcpHandlers {
  onData(conn: TcpConnection, data: Uint8Array): void;
  onClose?(conn: TcpConnection, error?: Error): void;
}

export interface TcpConnection {
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  /**
   * Queues bytes for writing. Bytes the kernel does not take at once are buffered and
   * flushed when the socket drains; `buffered` tells how many wait (backpressure).
   */
  write(data: Uint8Array): void;
  readonly buffered: number;
  readonly closed: boolean;
  close(): void;
  /**
   * A TLS connection our listener accepted: the certificate the client presented, or
   * null when it presented none (the listener asks for one but does not require it).
   * Absent on TCP and on connections vipless opened.
   */
  readonly peerCertificate?: PeerCertificate | null;
}

/** A client's certificate, as the handshake left it. */
export interface PeerCertificate {
  /** Its chain verified against the listener's trust anchors (tls.ca, else the system's). */
  verified: boolean;
  /** Why it did not verify (the TLS library's code), when it did not. */
  error?: string;
  /** Its subjectAltName DNS names and IP addresses, as written there. */
  names: string[];
}

export interface TcpListener {
  readonly local: SocketAddress;
  close(): void;
}

/** A TLS listener's certificate (PEM text), and how long a client gets to finish its handshake. */
export interface TlsServerOptions {
  cert: string;
  key: string;
  /** PEM trust anchors for clients' certificates (asked for, not required); absent: the system's. */
  ca?: string;
  handshakeTimeoutMs: number;
}

/** How vipless opens a TLS connection to a server (a pair member). */
export interface TlsClientOptions {
  /** The name the server's certificate must carry (a member's host), and the SNI. */
  serverName: string;
  /** PEM trust anchors; absent: the system's store. */
  ca?: string;
  /** false: no certificate check at all. */
  verify: boolean;
  /** Our certificate and key, for servers that ask for one (mutual TLS). */
  cert?: string;
  key?: string;
  handshakeTimeoutMs: number;
}

export interface TlsHandlers extends TcpHandlers {
  /** A handshake failed or did not finish in time; the connection is closed. */
  onHandshakeError?(remote: SocketAddress, error: Error): void;
}

export interface TlsListener extends TcpListener {
  /**
   * New certificate and key for new connections; the established ones stay as they are.
   * Resolves with the listener that serves the port from now on: this one, or (where
   * the runtime cannot change a listener's certificate) a successor bound to the same
   * port with SO_REUSEPORT, this one then no longer accepting.
   */
  reload(tls: TlsServerOptions): Promise<TlsListener>;
}

export interface HttpServer {
  readonly local: SocketAddress;
  /** Stops accepting, lets in-flight requests finish (bounded by the runtime), resolves when closed. */
  stop(): Promise<void>;
}

export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Options of a listening socket. */
export interface ListenOptions {
  /**
   * SO_REUSEPORT: several processes bind the same address and the kernel spreads the
   * peers over them (vipless `workers`). Only where `canSharePorts` is true.
   */
  reusePort?: boolean;
  /** UDP: SO_RCVBUF and SO_SNDBUF to ask for (bytes; 0 leaves that one as it is). */
  bufferBytes?: { receive: number; send: number };
}

/** A child process started by `spawnSelf`. */
export interface ChildHandle {
  readonly pid: number;
  kill(signal: Signal | "SIGKILL"): void;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

export interface TimerHandle {
  readonly id: unknown;
}

export interface Runtime {
  readonly name: RuntimeName;
  readonly version: string;

  bindUdp(
    addr: SocketAddress,
    handlers: UdpHandlers & { onError?(error: Error): void },
    options?: ListenOptions,
  ): Promise<UdpSocket>;
  listenTcp(
    addr: SocketAddress,
    handlers: TcpHandlers & { onOpen?(conn: TcpConnection): void },
    options?: ListenOptions,
  ): Promise<TcpListener>;
  /** True when UDP and TCP listeners can be shared by processes with `reusePort`. */
  readonly canSharePorts: boolean;
  /** Starts this program again (same executable, script and arguments) with extra env. */
  spawnSelf(env: Record<string, string>): ChildHandle;
  readonly pid: number;
  connectTcp(to: SocketAddress, handlers: TcpHandlers): Promise<TcpConnection>;
  /** A TLS listener; `onOpen` runs once the handshake has succeeded. */
  listenTls(
    addr: SocketAddress,
    handlers: TlsHandlers & { onOpen?(conn: TcpConnection): void },
    tls: TlsServerOptions,
  ): Promise<TlsListener>;
  /** A TLS connection, resolved once the handshake (and the certificate check) succeeded. */
  connectTls(
    to: SocketAddress,
    handlers: TcpHandlers,
    tls: TlsClientOptions,
  ): Promise<TcpConnection>;
  serveHttp(
    addr: SocketAddress,
    fetch: (request: Request) => Response | Promise<Response>,
  ): Promise<HttpServer>;

  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds, for timers and durations. */
  monotonic(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;

  /**
   * Raises the soft open-files limit to the hard one where it is lower (descriptors
   * for connections, HTTP and new calls); null where the limit cannot be read.
   */
  raiseOpenFileLimit(): Promise<OpenFileLimit | null>;
  /** The kernel's ceilings for socket buffers (net.core.rmem_max, wmem_max), or null. */
  socketBufferMax(): { receive: number; send: number } | null;
  /** Datagrams the kernel dropped on this host's UDP sockets bound to these ports, or null. */
  udpReceiveDrops(localPorts: readonly number[]): number | null;
  /** Bytes queued unread on this host's UDP sockets bound to these ports, or null. */
  udpReceiveQueue(localPorts: readonly number[]): number | null;

  /** Resolves a host name to one address (IPv4 preferred), with the system resolver. */
  lookup(host: string): Promise<string>;

  onSignal(signal: Signal, handler: () => void): void;
  readTextFile(path: string): string;
  env(name: string): string | undefined;
  args(): string[];
  /** Resident set size in bytes. */
  rss(): number;
  /** CPU time used so far; open descriptors (null where /proc/self/fd is unreadable: Deno). */
  processStats(): { cpuSeconds: number; openFds: number | null };
  /**
   * The calling thread's time on a CPU plus its time runnable but waiting for one, ns
   * (Linux schedstat); null where it cannot be read. Called from the main thread: how
   * busy the loop that reads the sockets is (service/thread-busy.ts).
   */
  threadSchedNs(): number | null;
  exit(code: number): never;
  writeStdout(text: string): void;
  writeStderr(text: string): void;
}
