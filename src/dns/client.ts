/**
 * A stub resolver over UDP (RFC 1035 §4.2.1) on the runtime's sockets: asks the
 * configured servers (`dns.servers`, else the nameservers of /etc/resolv.conf) in turn,
 * each for a bounded time, and caches every answer for its records' TTL. It never
 * blocks the event loop: a server that does not answer costs a timer, and the lookups
 * in flight and the names cached are both bounded, since names can come from message
 * content. An answer is taken only from the server asked, with the query's id, for the
 * name and type asked; one truncated even at the EDNS(0) size is asked again over TCP.
 */
import { formatHostPort } from "../net/address.ts";
import type {
  Runtime,
  SocketAddress,
  TcpConnection,
  TimerHandle,
  UdpSocket,
} from "../runtime/types.ts";
import {
  decodeAnswer,
  type DnsAnswer,
  type DnsRecord,
  encodeQuery,
  type RecordType,
} from "./wire.ts";

export interface DnsResult {
  /** rcode 3 (the name does not exist) and an empty answer both give no records. */
  records: DnsRecord[];
  /** Seconds the result holds: the lowest TTL of its records, or the negative TTL. */
  ttl: number;
}

export interface DnsQuerier {
  query(name: string, type: RecordType): Promise<DnsResult>;
}

export interface DnsClientOptions {
  /** Servers as "host:port" or "[v6]:port", asked in this order. */
  servers: readonly SocketAddress[];
  /** How long one server gets to answer one query. */
  attemptTimeoutMs?: number;
  /** Seconds an empty answer or NXDOMAIN is believed. */
  negativeTtl?: number;
}

/** Lookups in flight at most; past it a query fails at once. */
export const MAX_PENDING_QUERIES = 64;
/** Answers cached at most; past it the oldest goes. */
export const MAX_CACHED_ANSWERS = 10_000;

interface Pending {
  name: string;
  type: RecordType;
  server: SocketAddress;
  timer: TimerHandle;
  settle(result: DnsResult | Error): void;
}

export class DnsClient implements DnsQuerier {
  readonly #rt: Runtime;
  readonly #servers: readonly SocketAddress[];
  readonly #attemptMs: number;
  readonly #negativeTtl: number;
  readonly #pending = new Map<number, Pending>();
  readonly #inFlight = new Map<string, Promise<DnsResult>>();
  readonly #cache = new Map<string, { result: DnsResult; until: number }>();
  readonly #sockets = new Map<"v4" | "v6", Promise<UdpSocket>>();
  #closed = false;

  constructor(rt: Runtime, options: DnsClientOptions) {
    this.#rt = rt;
    this.#servers = options.servers;
    this.#attemptMs = options.attemptTimeoutMs ?? 1000;
    this.#negativeTtl = options.negativeTtl ?? 5;
  }

  /** The servers asked, as "host:port" (for logs and /status). */
  get servers(): string[] {
    return this.#servers.map((s) => formatHostPort(s.host, s.port));
  }

  query(name: string, type: RecordType): Promise<DnsResult> {
    const key = `${type}|${name.toLowerCase()}`;
    const hit = this.#cache.get(key);
    const now = this.#rt.monotonic();
    if (hit && hit.until > now) {
      // What is left of the TTL, so that a result built on it expires when this does.
      return Promise.resolve({ records: hit.result.records, ttl: (hit.until - now) / 1000 });
    }
    const running = this.#inFlight.get(key);
    if (running) return running;
    if (this.#inFlight.size >= MAX_PENDING_QUERIES) {
      return Promise.reject(new Error(`DNS: too many lookups in progress (${name} ${type})`));
    }
    const p = this.#ask(name, type).then((result) => {
      this.#remember(key, result);
      return result;
    }).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }

  close(): void {
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      this.#rt.clearTimer(p.timer);
      this.#pending.delete(id);
      p.settle(new Error("DNS client closed"));
    }
    for (const s of this.#sockets.values()) s.then((sock) => sock.close(), () => {});
    this.#sockets.clear();
  }

  async #ask(name: string, type: RecordType): Promise<DnsResult> {
    if (this.#servers.length === 0) throw new Error("DNS: no server to ask");
    let last: Error = new Error(`DNS: no answer for ${name} ${type}`);
    // Each server once, then each once more: a lost datagram is not a dead server.
    for (let round = 0; round < 2; round++) {
      for (const server of this.#servers) {
        if (this.#closed) throw new Error("DNS client closed");
        const got = await this.#once(name, type, server);
        if (!(got instanceof Error)) return got;
        last = got;
      }
    }
    throw last;
  }

  async #once(name: string, type: RecordType, server: SocketAddress): Promise<DnsResult | Error> {
    let sock: UdpSocket;
    try {
      sock = await this.#socketFor(server);
    } catch (e) {
      return e as Error;
    }
    let id = 0;
    do id = Math.floor(Math.random() * 0x10000); while (this.#pending.has(id));
    return new Promise<DnsResult | Error>((settle) => {
      const timer = this.#rt.setTimer(this.#attemptMs, () => {
        this.#pending.delete(id);
        settle(new Error(`DNS: ${formatHostPort(server.host, server.port)} did not answer`));
      });
      this.#pending.set(id, { name, type, server, timer, settle });
      try {
        sock.send(encodeQuery(id, name, type), server);
      } catch (e) {
        this.#rt.clearTimer(timer);
        this.#pending.delete(id);
        settle(e as Error);
      }
    });
  }

  #socketFor(server: SocketAddress): Promise<UdpSocket> {
    const family = server.host.includes(":") ? "v6" : "v4";
    let s = this.#sockets.get(family);
    if (!s) {
      s = this.#rt.bindUdp({ host: family === "v6" ? "::" : "0.0.0.0", port: 0 }, {
        onMessage: (data, from) => this.#onAnswer(data, from),
        onError: () => {},
      });
      s.catch(() => this.#sockets.delete(family));
      this.#sockets.set(family, s);
    }
    return s;
  }

  #onAnswer(data: Uint8Array, from: SocketAddress): void {
    let answer;
    try {
      answer = decodeAnswer(data);
    } catch {
      return; // Garbage: the attempt's timer decides.
    }
    const p = this.#pending.get(answer.id);
    if (!p || p.server.port !== from.port || !sameHost(p.server.host, from.host)) return;
    this.#pending.delete(answer.id);
    this.#rt.clearTimer(p.timer);
    // Truncated even at the EDNS size: the whole answer over TCP (RFC 7766).
    if (answer.truncated) return void this.#overTcp(p.name, p.type, p.server).then(p.settle);
    p.settle(this.#resultOf(answer, p.name, p.type));
  }

  #resultOf(answer: DnsAnswer, name: string, type: RecordType): DnsResult | Error {
    if (answer.rcode !== 0 && answer.rcode !== 3) {
      return new Error(`DNS: ${name} ${type}: server failure (rcode ${answer.rcode})`);
    }
    const records = answer.records;
    const ttl = records.length === 0 ? this.#negativeTtl : Math.min(...records.map((r) => r.ttl));
    return { records, ttl };
  }

  /** One query over TCP (two-byte length, then the message), bounded like a UDP attempt. */
  #overTcp(name: string, type: RecordType, server: SocketAddress): Promise<DnsResult | Error> {
    return new Promise((settle) => {
      const id = Math.floor(Math.random() * 0x10000);
      const query = encodeQuery(id, name, type);
      let buf = new Uint8Array(0);
      let conn: TcpConnection | null = null;
      let done = false;
      const finish = (r: DnsResult | Error) => {
        if (done) return;
        done = true;
        this.#rt.clearTimer(timer);
        conn?.close();
        settle(r);
      };
      const where = formatHostPort(server.host, server.port);
      const timer = this.#rt.setTimer(
        this.#attemptMs,
        () => finish(new Error(`DNS: ${where} did not answer over TCP`)),
      );
      this.#rt.connectTcp(server, {
        onData: (_c, data) => {
          const next = new Uint8Array(buf.byteLength + data.byteLength);
          next.set(buf);
          next.set(data, buf.byteLength);
          buf = next;
          if (buf.byteLength < 2) return;
          const length = (buf[0]! << 8) | buf[1]!;
          if (buf.byteLength < 2 + length) return;
          try {
            const answer = decodeAnswer(buf.subarray(2, 2 + length));
            finish(
              answer.id === id
                ? this.#resultOf(answer, name, type)
                : new Error("DNS: answer over TCP for another query"),
            );
          } catch (e) {
            finish(e as Error);
          }
        },
        onClose: () => finish(new Error("DNS: TCP connection closed before the answer")),
      }).then((c) => {
        conn = c;
        if (done) return c.close();
        const framed = new Uint8Array(2 + query.byteLength);
        framed[0] = query.byteLength >> 8;
        framed[1] = query.byteLength & 0xff;
        framed.set(query, 2);
        c.write(framed);
      }, (e: Error) => finish(e));
    });
  }

  #remember(key: string, result: DnsResult): void {
    this.#cache.delete(key);
    while (this.#cache.size >= MAX_CACHED_ANSWERS) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    this.#cache.set(key, { result, until: this.#rt.monotonic() + result.ttl * 1000 });
  }
}

function sameHost(a: string, b: string): boolean {
  const strip = (h: string) => h.toLowerCase().replace(/^::ffff:/, "");
  return strip(a) === strip(b);
}

/** The nameservers of a resolv.conf text, port 53 (none: the local one). */
export function resolvConfServers(text: string): SocketAddress[] {
  const servers: SocketAddress[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) servers.push({ host: m[1]!.replace(/%.*$/, ""), port: 53 });
  }
  return servers.length > 0 ? servers : [{ host: "127.0.0.1", port: 53 }];
}
