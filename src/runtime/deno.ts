/** The Runtime interface on Deno's native APIs (Deno.listenDatagram, Deno.listen, Deno.connect, Deno.serve). */
import type { Runtime, SocketAddress, TcpConnection, TcpHandlers } from "./types.ts";
import { stripBrackets } from "../net/address.ts";
import { portable } from "./portable.ts";
import { OwnUdpQueues } from "./udp-queues.ts";
import { findUdpSocketFd, raiseOpenFileLimit, setUdpBuffers, type UdpBuffers } from "./libc.ts";
import { denoLibc, loadDenoLibc } from "./libc-deno.ts";
import { denoConnectTls, denoListenTls } from "./deno-tls.ts";

const READ_BUFFER = 64 * 1024;

function addrOf(a: Deno.Addr): SocketAddress {
  return "hostname" in a
    ? { host: stripBrackets(a.hostname), port: a.port }
    : { host: "", port: 0 };
}

/**
 * One Deno TCP connection. Deno's write() is a promise that may write part of the
 * buffer, so writes go through one queue drained by a single loop: order is kept and
 * `buffered` reports what the kernel has not taken yet.
 */
class DenoTcpConnection implements TcpConnection {
  #queue: Uint8Array[] = [];
  #writing = false;
  buffered = 0;
  closed = false;
  readonly local: SocketAddress;
  readonly remote: SocketAddress;
  constructor(readonly conn: Deno.TcpConn, readonly handlers: TcpHandlers) {
    this.local = addrOf(conn.localAddr);
    this.remote = addrOf(conn.remoteAddr);
  }
  write(data: Uint8Array): void {
    if (this.closed) return;
    this.#queue.push(data);
    this.buffered += data.byteLength;
    if (!this.#writing) void this.#flush();
  }
  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.closed) {
        const head = this.#queue[0]!;
        const n = await this.conn.write(head);
        this.buffered -= n;
        if (n < head.byteLength) this.#queue[0] = head.subarray(n);
        else this.#queue.shift();
      }
    } catch (e) {
      this.#fail(e as Error);
    } finally {
      this.#writing = false;
    }
  }
  async readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_BUFFER);
    let error: Error | undefined;
    try {
      while (!this.closed) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        // The handler may keep the bytes (stream framing), so hand it a copy.
        this.handlers.onData(this, buf.slice(0, n));
      }
    } catch (e) {
      if (!this.closed) error = e as Error;
    }
    this.#fail(error);
  }
  #fail(error?: Error): void {
    const wasClosed = this.closed;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    if (!wasClosed || error) this.handlers.onClose?.(this, error);
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    this.handlers.onClose?.(this);
  }
}

export function createDenoRuntime(): Runtime {
  const queues = new OwnUdpQueues();
  return {
    name: "deno",
    version: Deno.version.deno,

    async bindUdp(addr, handlers, options) {
      const conn = Deno.listenDatagram({ transport: "udp", hostname: addr.host, port: addr.port });
      const local = addrOf(conn.addr);
      let buffers: UdpBuffers | undefined;
      let dropsOf: (() => number) | null = null;
      let unregister = () => {};
      if (options?.bufferBytes) {
        // Deno.listenDatagram has no buffer option and hides its descriptor: find it
        // by its port and setsockopt on it through FFI.
        const libc = await loadDenoLibc();
        const fd = typeof libc === "string" ? null : findUdpSocketFd(libc, local.port);
        buffers = typeof libc === "string"
          ? { ok: false, error: libc }
          : fd === null
          ? { ok: false, error: "socket descriptor not found" }
          : setUdpBuffers(libc, fd, options.bufferBytes);
        if (typeof libc !== "string" && fd !== null) {
          dropsOf = () => libc.socketDrops(fd);
          unregister = queues.add(local.port, () => open ? libc.socketQueueBytes(fd) : -1);
        }
      }
      let open = true;
      (async () => {
        while (open) {
          try {
            const [data, from] = await conn.receive();
            handlers.onMessage(data, addrOf(from));
          } catch (e) {
            if (!open) break;
            handlers.onError?.(e as Error);
          }
        }
      })();
      return {
        local,
        buffers,
        receiveDrops() {
          const n = dropsOf && open ? dropsOf() : -1;
          return n >= 0 ? n : null;
        },
        send(data, to) {
          if (!open) return;
          conn.send(data, { transport: "udp", hostname: to.host, port: to.port }).catch((e) =>
            handlers.onError?.(e as Error)
          );
        },
        close() {
          open = false;
          unregister();
          conn.close();
        },
      };
    },

    listenTcp(addr, handlers, options) {
      const listener = Deno.listen({
        hostname: addr.host,
        port: addr.port,
        reusePort: options?.reusePort ?? false,
      });
      let open = true;
      (async () => {
        while (open) {
          let conn: Deno.TcpConn;
          try {
            conn = await listener.accept();
          } catch {
            if (!open) break;
            continue;
          }
          conn.setNoDelay(true);
          const c = new DenoTcpConnection(conn, handlers);
          handlers.onOpen?.(c);
          void c.readLoop();
        }
      })();
      return Promise.resolve({
        local: addrOf(listener.addr),
        close() {
          open = false;
          listener.close();
        },
      });
    },

    async connectTcp(to, handlers) {
      const conn = await Deno.connect({ hostname: to.host, port: to.port });
      conn.setNoDelay(true);
      const c = new DenoTcpConnection(conn, handlers);
      void c.readLoop();
      return c;
    },

    listenTls: denoListenTls,
    connectTls: denoConnectTls,

    serveHttp(addr, fetch) {
      return new Promise((resolve) => {
        let server: Deno.HttpServer;
        let stopped = false;
        let port = addr.port;
        // Deno.serve's accept loop ends on an error such as EMFILE (descriptors run out),
        // and its `finished` rejection would end the process: serve again instead, so
        // /health comes back once descriptors are free.
        const serve = (onListen: (local: Deno.NetAddr) => void) => {
          try {
            server = Deno.serve({ hostname: addr.host, port, onListen }, fetch);
          } catch {
            if (!stopped) setTimeout(() => serve(() => {}), 250);
            return;
          }
          server.finished.catch(() => {
            if (!stopped) setTimeout(() => serve(() => {}), 250);
          });
        };
        serve((local) => {
          port = local.port;
          resolve({
            local: { host: stripBrackets(local.hostname), port: local.port },
            async stop() {
              stopped = true;
              await server.shutdown().catch(() => {});
            },
          });
        });
      });
    },

    // Deno's UDP reuseAddress lets a second process bind but does not spread datagrams
    // over the processes (measured: the last one gets them all), so no `workers` here.
    canSharePorts: false,
    pid: Deno.pid,
    spawnSelf(env) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-env",
          "--allow-sys",
          "--allow-run",
          "--allow-ffi",
          "--unstable-net",
          Deno.mainModule,
          ...Deno.args,
        ],
        env,
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      return {
        pid: child.pid,
        kill: (signal) => child.kill(signal),
        exited: child.status.then((s) => (s.signal ? null : s.code)),
      };
    },

    ...portable,
    udpReceiveQueue: (ports) => queues.sum(ports) ?? portable.udpReceiveQueue(ports),
    raiseOpenFileLimit: () => raiseOpenFileLimit(loadDenoLibc),
    threadSchedNs() {
      const libc = denoLibc();
      const ns = typeof libc === "string" ? -1 : libc.threadSchedNs();
      return ns >= 0 ? ns : null;
    },
    onSignal(signal, handler) {
      Deno.addSignalListener(signal, handler);
    },
    readTextFile: (path) => Deno.readTextFileSync(path),
    env: (name) => Deno.env.get(name),
    args: () => Deno.args,
    rss: () => Deno.memoryUsage().rss,
    exit(code): never {
      Deno.exit(code);
    },
    writeStdout: (text) => writeAll(Deno.stdout, text),
    writeStderr: (text) => writeAll(Deno.stderr, text),
  };
}

/** writeSync may take part of the bytes; loop until all are written. */
function writeAll(out: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = new TextEncoder().encode(text);
  while (bytes.byteLength > 0) bytes = bytes.subarray(out.writeSync(bytes));
}
