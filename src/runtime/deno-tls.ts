/**
 * TLS sockets on Deno, through node:tls rather than Deno.listenTls/Deno.connectTls, for
 * three reasons measured on Deno 2.9: a Deno.TlsConn whose handshake never finishes
 * cannot be closed (close() waits for the handshake, denoland/deno#14547, so a client
 * that connects and stays silent would hold its socket for ever); Deno.connectTls
 * checks the certificate against the address it connects to, not the member's name
 * (startTls can, but cannot present a client certificate); and nothing in Deno's own
 * API skips the chain check for `verify: false`. node:tls has a destroy() that works
 * mid-handshake, `servername`, client certificates and setSecureContext, which reloads
 * a listener's certificate in place.
 */
import tls from "node:tls";
import { isIP, type Socket } from "node:net";
import { stripBrackets } from "../net/address.ts";
import { peerCertificateOf } from "./tls-peer.ts";
import type {
  PeerCertificate,
  Runtime,
  SocketAddress,
  TcpConnection,
  TcpHandlers,
  TlsListener,
} from "./types.ts";

/** One TLS connection; node's socket buffers what the kernel did not take. */
class NodeTlsConnection implements TcpConnection {
  closed = false;
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  constructor(
    readonly socket: tls.TLSSocket,
    readonly handlers: TcpHandlers,
    readonly peerCertificate?: PeerCertificate | null,
  ) {
    this.local = { host: stripBrackets(socket.localAddress ?? ""), port: socket.localPort ?? 0 };
    this.remote = { host: stripBrackets(socket.remoteAddress ?? ""), port: socket.remotePort ?? 0 };
    socket.setNoDelay(true);
    socket.on("data", (d: Uint8Array) => {
      if (!this.closed) this.handlers.onData(this, new Uint8Array(d));
    });
    socket.on("error", (e: Error) => this.#closed(e));
    socket.on("close", () => this.#closed());
  }
  get buffered(): number {
    return this.socket.writableLength;
  }
  write(data: Uint8Array): void {
    if (!this.closed) this.socket.write(data);
  }
  close(): void {
    if (this.closed) return;
    this.socket.end();
    // What the peer does not read within a second is not waited for.
    setTimeout(() => this.socket.destroy(), 1000).unref?.();
    this.#closed();
  }
  #closed(error?: Error): void {
    if (this.closed && !error) return;
    const first = !this.closed;
    this.closed = true;
    if (first) this.handlers.onClose?.(this, error);
  }
}

const remoteOf = (s: Socket): SocketAddress => ({
  host: stripBrackets(s.remoteAddress ?? ""),
  port: s.remotePort ?? 0,
});

export const denoListenTls: Runtime["listenTls"] = (addr, handlers, options) =>
  new Promise((resolve, reject) => {
    let timeoutMs = options.handshakeTimeoutMs;
    // RFC 5923 §10: a client's certificate is asked for (not required) because it
    // proves the address its Via alias names; its verdict is kept, not enforced.
    const secure = (o: typeof options) => ({
      cert: o.cert,
      key: o.key,
      ...(o.ca ? { ca: o.ca } : {}),
    });
    const server = tls.createServer({
      ...secure(options),
      requestCert: true,
      rejectUnauthorized: false,
    });
    const conns = new Set<NodeTlsConnection>();
    // Every raw connection gets the deadline, by its peer's address; the secure one clears it.
    const deadlines = new Map<string, ReturnType<typeof setTimeout>>();
    const keyOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
    server.on("connection", (raw: Socket) => {
      const key = keyOf(raw);
      deadlines.set(
        key,
        setTimeout(() => {
          deadlines.delete(key);
          handlers.onHandshakeError?.(
            remoteOf(raw),
            new Error(`TLS handshake not finished within ${timeoutMs} ms`),
          );
          raw.destroy();
        }, timeoutMs),
      );
      raw.once("close", () => {
        clearTimeout(deadlines.get(key));
        deadlines.delete(key);
      });
    });
    server.on("secureConnection", (socket: tls.TLSSocket) => {
      clearTimeout(deadlines.get(keyOf(socket)));
      deadlines.delete(keyOf(socket));
      const c = new NodeTlsConnection(
        socket,
        {
          ...handlers,
          onClose(c, error) {
            conns.delete(c as NodeTlsConnection);
            handlers.onClose?.(c, error);
          },
        },
        peerCertificateOf(
          socket.getPeerCertificate(),
          socket.authorized,
          socket.authorizationError,
        ),
      );
      conns.add(c);
      handlers.onOpen?.(c);
    });
    server.on("tlsClientError", (error: Error, socket: tls.TLSSocket) => {
      handlers.onHandshakeError?.(remoteOf(socket), error);
      socket.destroy();
    });
    server.once("error", reject);
    server.listen({ host: addr.host, port: addr.port }, () => {
      const a = server.address() as { address: string; port: number };
      const self: TlsListener = {
        local: { host: stripBrackets(a.address), port: a.port },
        close() {
          server.close();
          for (const c of [...conns]) c.socket.destroy();
        },
        reload(next) {
          server.setSecureContext(secure(next));
          timeoutMs = next.handshakeTimeoutMs;
          return Promise.resolve(self);
        },
      };
      resolve(self);
    });
  });

export const denoConnectTls: Runtime["connectTls"] = (to, handlers, options) =>
  new Promise((resolve, reject) => {
    let settled = false;
    const socket = tls.connect({
      host: to.host,
      port: to.port,
      // SNI takes names only; the certificate is checked against the name (or address)
      // asked for either way, not the address connected to.
      ...(isIP(options.serverName) ? {} : { servername: options.serverName }),
      ca: options.ca,
      rejectUnauthorized: options.verify,
      checkServerIdentity: options.verify
        ? (_host: string, cert: tls.PeerCertificate) =>
          tls.checkServerIdentity(options.serverName, cert)
        : () => undefined,
      ...(options.cert && options.key ? { cert: options.cert, key: options.key } : {}),
    });
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    const timer = setTimeout(
      () => fail(new Error(`TLS handshake not finished within ${options.handshakeTimeoutMs} ms`)),
      options.handshakeTimeoutMs,
    );
    socket.once("error", fail);
    socket.once("secureConnect", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(new NodeTlsConnection(socket, handlers));
    });
  });
