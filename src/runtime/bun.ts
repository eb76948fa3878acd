/** The Runtime interface on Bun's native APIs (Bun.udpSocket, Bun.listen, Bun.connect, Bun.serve). */
import type {
  Runtime,
  SocketAddress,
  TcpConnection,
  TcpHandlers,
  UdpHandlers,
  UdpSocket,
} from "./types.ts";
import { createSocket as createDgramSocket, type SocketOptions } from "node:dgram";
import { readFileSync } from "node:fs";
import { stripBrackets } from "../net/address.ts";
import { portable } from "./portable.ts";
import { OwnUdpQueues } from "./udp-queues.ts";
import { raiseOpenFileLimit, setUdpBuffers, type UdpBuffers } from "./libc.ts";
import { loadBunLibc } from "./libc-bun.ts";
import { bunConnectTls, bunListenTls } from "./bun-tls.ts";

export type BunSocket = Bun.Socket<BunTcpConnection>;

/** Wraps one Bun TCP socket: keeps what the kernel did not accept and flushes it on drain. */
export class BunTcpConnection implements TcpConnection {
  #pending: Uint8Array[] = [];
  buffered = 0;
  closed = false;
  handlers: TcpHandlers;
  constructor(
    readonly socket: BunSocket,
    readonly local: SocketAddress,
    readonly remote: SocketAddress,
    handlers: TcpHandlers,
  ) {
    this.handlers = handlers;
  }
  write(data: Uint8Array): void {
    if (this.closed) return;
    if (this.buffered > 0) {
      this.#pending.push(data);
      this.buffered += data.byteLength;
      return;
    }
    const n = this.socket.write(data);
    if (n < data.byteLength) {
      const rest = data.subarray(Math.max(n, 0));
      this.#pending.push(rest);
      this.buffered += rest.byteLength;
    }
  }
  drain(): void {
    while (this.#pending.length > 0) {
      const head = this.#pending[0]!;
      const n = this.socket.write(head);
      if (n < 0) return;
      this.buffered -= Math.max(n, 0);
      if (n < head.byteLength) {
        this.#pending[0] = head.subarray(n);
        return;
      }
      this.#pending.shift();
    }
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
  }
}

export function socketHandlers(
  handlers: TcpHandlers & { onOpen?(conn: TcpConnection): void },
) {
  return {
    open(socket: BunSocket) {
      const conn = new BunTcpConnection(
        socket,
        { host: stripBrackets(socket.localAddress ?? ""), port: socket.localPort },
        { host: stripBrackets(socket.remoteAddress), port: socket.remotePort ?? 0 },
        handlers,
      );
      socket.data = conn;
      handlers.onOpen?.(conn);
    },
    data(socket: BunSocket, data: Uint8Array) {
      const conn = socket.data;
      if (conn && !conn.closed) conn.handlers.onData(conn, data);
    },
    drain(socket: BunSocket) {
      socket.data?.drain();
    },
    close(socket: BunSocket, error?: Error) {
      const conn = socket.data;
      if (!conn) return;
      conn.closed = true;
      conn.handlers.onClose?.(conn, error);
    },
    error(socket: BunSocket, error: Error) {
      const conn = socket.data;
      if (!conn) return;
      conn.closed = true;
      conn.handlers.onClose?.(conn, error);
    },
  };
}

export function createBunRuntime(): Runtime {
  const queues = new OwnUdpQueues();
  return {
    name: "bun",
    version: Bun.version,

    async bindUdp(addr, handlers, options) {
      if (options?.reusePort) return await bindSharedUdp(addr, handlers, options.bufferBytes);
      const socket = await Bun.udpSocket({
        hostname: addr.host,
        port: addr.port,
        binaryType: "uint8array",
        socket: {
          data(_s, data, port, address) {
            handlers.onMessage(data, { host: address, port });
          },
          error(_s, error) {
            handlers.onError?.(error);
          },
        },
      });
      // Bun.udpSocket has no buffer option but exposes its descriptor: setsockopt on it.
      let buffers: UdpBuffers | undefined;
      const fd = (socket as unknown as { fd?: number }).fd;
      const libc = options?.bufferBytes ? await loadBunLibc() : null;
      if (options?.bufferBytes) {
        buffers = typeof libc === "string"
          ? { ok: false, error: libc }
          : typeof fd !== "number"
          ? { ok: false, error: "Bun.udpSocket exposes no descriptor" }
          : setUdpBuffers(libc!, fd, options.bufferBytes);
      }
      const counter = libc && typeof libc !== "string" && typeof fd === "number" ? libc : null;
      const unregister = counter
        ? queues.add(socket.port, () => socket.closed ? -1 : counter.socketQueueBytes(fd!))
        : () => {};
      return {
        local: { host: stripBrackets(socket.hostname), port: socket.port },
        buffers,
        receiveDrops() {
          const n = counter && !socket.closed ? counter.socketDrops(fd!) : -1;
          return n >= 0 ? n : null;
        },
        send(data, to) {
          // An ICMP "port unreachable" for an earlier datagram (to any peer) makes the next
          // send throw ECONNREFUSED without sending; the throw clears it, so send once more
          // (otherwise the first INVITE to a backup after its primary died is lost).
          for (let attempt = 0;; attempt++) {
            try {
              socket.send(data, to.port, to.host);
              return;
            } catch (e) {
              if (attempt > 0 || (e as { code?: string }).code !== "ECONNREFUSED") {
                handlers.onError?.(e as Error);
                return;
              }
            }
          }
        },
        close() {
          unregister();
          socket.close();
        },
      };
    },

    listenTcp(addr, handlers, options) {
      const listener = Bun.listen<BunTcpConnection>({
        hostname: addr.host,
        port: addr.port,
        socket: socketHandlers(handlers),
        // Bun honours reusePort on listeners although its types declare it only for
        // connect options (checked: a second listener on the port binds with it, not without).
        ...(options?.reusePort ? { reusePort: true } : {}),
      } as Bun.TCPSocketListenOptions<BunTcpConnection>);
      return Promise.resolve({
        local: { host: stripBrackets(listener.hostname), port: listener.port },
        close() {
          listener.stop(true);
        },
      });
    },

    connectTcp(to, handlers) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const base = socketHandlers({
          ...handlers,
          onOpen(conn) {
            settled = true;
            resolve(conn);
          },
        });
        Bun.connect<BunTcpConnection>({
          hostname: to.host,
          port: to.port,
          socket: {
            ...base,
            connectError(_s, error) {
              if (!settled) {
                settled = true;
                reject(error);
              }
            },
          },
        }).catch((e) => {
          if (!settled) {
            settled = true;
            reject(e);
          }
        });
      });
    },

    listenTls: bunListenTls,
    connectTls: bunConnectTls,

    serveHttp(addr, fetch) {
      const server = Bun.serve({ hostname: addr.host, port: addr.port, fetch });
      return Promise.resolve({
        local: { host: addr.host, port: server.port ?? addr.port },
        async stop() {
          await server.stop(true);
        },
      });
    },

    canSharePorts: true,
    pid: process.pid,
    spawnSelf(env) {
      // A compiled executable carries its script inside (argv[1] is "/$bunfs/…"): run the
      // executable itself; from source, run bun with the same script.
      const compiled = Bun.main.startsWith("/$bunfs/");
      const cmd = compiled
        ? [process.execPath, ...process.argv.slice(2)]
        : [process.execPath, process.argv[1]!, ...process.argv.slice(2)];
      const child = Bun.spawn(cmd, {
        env: { ...process.env, ...env },
        stdio: ["ignore", "inherit", "inherit"],
      });
      return {
        pid: child.pid,
        kill: (signal) => child.kill(signal),
        exited: child.exited.then(() => (child.signalCode ? null : child.exitCode)),
      };
    },

    ...portable,
    udpReceiveQueue: (ports) => queues.sum(ports) ?? portable.udpReceiveQueue(ports),
    raiseOpenFileLimit: () => raiseOpenFileLimit(loadBunLibc),
    onSignal(signal, handler) {
      process.on(signal, handler);
    },
    readTextFile(path) {
      // Bun.file() is async-only for text; node:fs is Bun-native and synchronous.
      return readFileSync(path, "utf8");
    },
    env: (name) => Bun.env[name],
    args: () => Bun.argv.slice(2),
    rss: () => process.memoryUsage.rss(),
    exit(code): never {
      process.exit(code);
    },
    writeStdout(text) {
      process.stdout.write(text);
    },
    writeStderr(text) {
      process.stderr.write(text);
    },
  };
}

/**
 * A UDP socket that shares its port with other processes (SO_REUSEPORT). Bun.udpSocket
 * cannot set that option, so this one uses Bun's node:dgram, which can; it serves only
 * the shared listener of `workers`, where the kernel spreads the peers over processes.
 */
async function bindSharedUdp(
  addr: SocketAddress,
  handlers: UdpHandlers & { onError?(error: Error): void },
  bufferBytes?: { receive: number; send: number },
): Promise<UdpSocket> {
  const sock = createDgramSocket({
    type: addr.host.includes(":") ? "udp6" : "udp4",
    reusePort: true,
  } as SocketOptions);
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(addr.port, addr.host, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  sock.on("error", (e) => handlers.onError?.(e));
  sock.on("message", (msg, rinfo) => {
    handlers.onMessage(
      new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
      { host: rinfo.address, port: rinfo.port },
    );
  });
  const local = sock.address();
  let buffers: UdpBuffers | undefined;
  if (bufferBytes) {
    try {
      if (bufferBytes.receive > 0) sock.setRecvBufferSize(bufferBytes.receive);
      if (bufferBytes.send > 0) sock.setSendBufferSize(bufferBytes.send);
      buffers = { ok: true, receive: sock.getRecvBufferSize(), send: sock.getSendBufferSize() };
    } catch (e) {
      buffers = { ok: false, error: (e as Error).message };
    }
  }
  return {
    local: { host: stripBrackets(local.address), port: local.port },
    buffers,
    send(data, to) {
      sock.send(data, to.port, to.host, (e) => {
        if (e) handlers.onError?.(e);
      });
    },
    close() {
      sock.close();
    },
  };
}
