/**
 * TLS sockets on Bun (Bun.listen / Bun.connect with `tls`). Bun calls `open` when the
 * TCP connection is up and `handshake` when TLS is: vipless sees a connection only
 * after a successful handshake, and one that does not finish in time is closed, so a
 * client that never completes its handshake costs a socket for a bounded time only.
 */
import { stripBrackets } from "../net/address.ts";
import { type BunSocket, BunTcpConnection, socketHandlers } from "./bun.ts";
import { peerCertificateOf } from "./tls-peer.ts";
import type {
  Runtime,
  SocketAddress,
  TcpConnection,
  TcpHandlers,
  TlsClientOptions,
  TlsHandlers,
  TlsListener,
  TlsServerOptions,
} from "./types.ts";

/** Bun's TLS socket, with what Bun has of node:tls's TLSSocket. */
type BunTlsSocket = BunSocket & {
  authorized?: boolean;
  getPeerCertificate?(): { subjectaltname?: string; raw?: unknown } | undefined;
};

const remoteOf = (s: BunSocket): SocketAddress => ({
  host: stripBrackets(s.remoteAddress),
  port: s.remotePort ?? 0,
});

/** The handlers of socketHandlers, with `open` held back until the handshake. */
function tlsHandlers(
  handlers: TlsHandlers & { onOpen?(conn: TcpConnection): void },
  timeoutMs: number,
  onFailure: (error: Error) => void,
  side: { unverified?: boolean; server?: boolean } = {},
) {
  const unverified = side.unverified ?? false;
  const base = socketHandlers(handlers);
  const timers = new WeakMap<BunSocket, ReturnType<typeof setTimeout>>();
  return {
    ...base,
    open(socket: BunSocket) {
      timers.set(
        socket,
        setTimeout(() => {
          const error = new Error(`TLS handshake not finished within ${timeoutMs} ms`);
          onFailure(error);
          handlers.onHandshakeError?.(remoteOf(socket), error);
          socket.terminate();
        }, timeoutMs),
      );
    },
    handshake(socket: BunSocket, success: boolean, authorizationError: Error | null) {
      clearTimeout(timers.get(socket));
      timers.delete(socket);
      // Without verification Bun still reports a failed check (success false) but
      // keeps the connection: that one is taken.
      if (!success && !(unverified && authorizationError)) {
        const error = authorizationError ?? new Error("TLS handshake failed");
        onFailure(error);
        handlers.onHandshakeError?.(remoteOf(socket), error);
        socket.terminate();
        return;
      }
      base.open(socket);
      // A client's certificate was asked for, not required: what it presented (and
      // whether that verified) is kept for the RFC 5923 alias check; Bun reports
      // success either way, the verdict is in `authorized` and authorizationError.
      if (side.server && socket.data) {
        const s = socket as BunTlsSocket;
        Object.assign(socket.data, {
          peerCertificate: peerCertificateOf(
            s.getPeerCertificate?.(),
            s.authorized === true,
            authorizationError,
          ),
        });
      }
    },
    close(socket: BunSocket, error?: Error) {
      clearTimeout(timers.get(socket));
      if (socket.data) return base.close(socket, error);
      onFailure(error ?? new Error("connection closed during the TLS handshake"));
    },
    error(socket: BunSocket, error: Error) {
      if (socket.data) return base.error(socket, error);
      onFailure(error);
    },
  };
}

/**
 * Bun.listen cannot change a listener's certificate, so it binds with SO_REUSEPORT and
 * a reload binds a successor to the same port, then stops the old one accepting
 * (stop(false) leaves its connections open).
 */
export const bunListenTls: Runtime["listenTls"] = (addr, handlers, tls) => {
  const listener = Bun.listen<BunTcpConnection>({
    hostname: addr.host,
    port: addr.port,
    tls: {
      cert: tls.cert,
      key: tls.key,
      // RFC 5923 §10: a client's certificate proves the address its Via alias names.
      requestCert: true,
      rejectUnauthorized: false,
      ...(tls.ca ? { ca: tls.ca } : {}),
    },
    socket: tlsHandlers(handlers, tls.handshakeTimeoutMs, () => {}, { server: true }),
    reusePort: true,
  } as Bun.TCPSocketListenOptions<BunTcpConnection>);
  const local = { host: stripBrackets(listener.hostname), port: listener.port };
  const self: TlsListener = {
    local,
    close: () => listener.stop(true),
    async reload(next: TlsServerOptions) {
      const successor = await bunListenTls(local, handlers, next);
      listener.stop(false);
      return successor;
    },
  };
  return Promise.resolve(self);
};

export const bunConnectTls: Runtime["connectTls"] = (
  to,
  handlers: TcpHandlers,
  tls: TlsClientOptions,
) =>
  new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    const socket = tlsHandlers(
      {
        ...handlers,
        onOpen(conn) {
          settled = true;
          resolve(conn);
        },
      },
      tls.handshakeTimeoutMs,
      fail,
      { unverified: !tls.verify },
    );
    Bun.connect<BunTcpConnection>({
      hostname: to.host,
      port: to.port,
      tls: {
        serverName: tls.serverName,
        rejectUnauthorized: tls.verify,
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      },
      socket: { ...socket, connectError: (_s: BunSocket, error: Error) => fail(error) },
    }).catch(fail);
  });
