/**
 * Sends mutated messages to vipless over UDP and TCP at a bounded rate. TCP
 * connections are rotated every few messages: a mutated Content-Length leaves a
 * stream out of step (that is the point), and a fresh connection starts clean.
 */
import type { Runtime, SocketAddress, TcpConnection, UdpSocket } from "../../src/runtime/index.ts";
import { byteString, byteStringToBytes } from "../../src/sip/text.ts";
import { strictProblem } from "./strict.ts";
import type { Seed } from "./corpus.ts";
import { mutate, type Mutated, type Rng } from "./mutate.ts";

export interface SendOptions {
  proxy: SocketAddress;
  corpus: readonly Seed[];
  rng: Rng;
  count: number;
  /** Messages per second (both transports together). */
  rate: number;
  /** Share of messages sent over TCP, 0..1. */
  tcpShare: number;
  /** Largest mutated message per transport (a UDP datagram cannot exceed 65,507). */
  maxUdpBytes: number;
  maxTcpBytes: number;
  /** Stop early when this returns a reason (vipless exited, say). */
  stopWhen(): string | null;
  /** Hard bound on the sending time, ms. */
  maxMs: number;
  /** Called about once a second. */
  progress?(sent: number): void;
  /** How many of the last messages to keep for a reproduction. */
  keepLast: number;
}

export interface SendResult {
  sent: number;
  udp: number;
  tcp: number;
  /** TCP connections opened (the rotation included). */
  tcpConnects: number;
  /** Connections vipless closed on us, and failed connects. */
  tcpClosedByPeer: number;
  tcpConnectErrors: number;
  /** Datagrams and TCP chunks vipless sent back. */
  responses: number;
  /** Datagrams vipless sent back that do not read strictly (strict.ts), and a few of them. */
  answersMalformed: number;
  answerSamples: string[];
  seconds: number;
  /**
   * Longest gap between two of the sender's 10 ms ticks, ms: how long this process
   * (which also runs the pair members) was busy at once.
   */
  maxTickGapMs: number;
  stoppedEarly: string | null;
  /** The last `keepLast` messages, oldest first. */
  last: Array<Mutated & { transport: "udp" | "tcp" }>;
}

const UDP_SOCKETS = 4;
const TCP_CONNECTIONS = 8;
const MESSAGES_PER_CONNECTION = 50;
const TICK_MS = 10;
const MAX_CATCH_UP_MS = 50;

/** A TCP connection of the fuzzer and how many messages it carried. */
interface Stream {
  conn: TcpConnection;
  used: number;
  closedByPeer: boolean;
}

/**
 * The message stream of a run: message i and its transport depend only on the seed,
 * the corpus and the options, so a reproduction can regenerate any part of a run.
 */
export function messages(
  o: Pick<SendOptions, "corpus" | "rng" | "tcpShare" | "maxUdpBytes" | "maxTcpBytes">,
): () => { m: Mutated; overTcp: boolean } {
  return () => {
    const overTcp = o.rng() < o.tcpShare;
    return { m: mutate(o.corpus, o.rng, overTcp ? o.maxTcpBytes : o.maxUdpBytes), overTcp };
  };
}

export async function sendMutations(rt: Runtime, o: SendOptions): Promise<SendResult> {
  const r: SendResult = {
    sent: 0,
    udp: 0,
    tcp: 0,
    tcpConnects: 0,
    tcpClosedByPeer: 0,
    tcpConnectErrors: 0,
    responses: 0,
    answersMalformed: 0,
    answerSamples: [],
    seconds: 0,
    maxTickGapMs: 0,
    stoppedEarly: null,
    last: [],
  };
  const onResponse = () => void r.responses++;
  const onDatagram = (data: Uint8Array) => {
    r.responses++;
    const text = byteString(data);
    const { problem } = strictProblem(data, text);
    if (!problem) return;
    r.answersMalformed++;
    if (r.answerSamples.length < 5) r.answerSamples.push(`${problem}: ${JSON.stringify(text)}`);
  };
  const udp: UdpSocket[] = [];
  for (let i = 0; i < UDP_SOCKETS; i++) {
    udp.push(await rt.bindUdp({ host: o.proxy.host, port: 0 }, { onMessage: onDatagram }));
  }
  const streams: Array<Stream | null> = new Array(TCP_CONNECTIONS).fill(null);
  const open = async (): Promise<Stream | null> => {
    try {
      const s: Stream = { conn: null as unknown as TcpConnection, used: 0, closedByPeer: true };
      s.conn = await rt.connectTcp(o.proxy, {
        onData: onResponse,
        onClose: () => {
          if (s.closedByPeer) r.tcpClosedByPeer++;
        },
      });
      r.tcpConnects++;
      return s;
    } catch {
      r.tcpConnectErrors++;
      return null;
    }
  };
  const retire = (s: Stream) => {
    s.closedByPeer = false;
    s.conn.close();
  };
  /**
   * A usable connection for the next message, rotated when it has carried enough.
   * Chosen round robin, not from the generator: the messages are a function of the
   * seed alone (see `messages`), whatever happened to the connections.
   */
  const stream = async (): Promise<Stream | null> => {
    const k = r.tcp % TCP_CONNECTIONS;
    let s = streams[k];
    if (s && (s.conn.closed || s.used >= MESSAGES_PER_CONNECTION || s.conn.buffered > 1 << 20)) {
      if (!s.conn.closed) retire(s);
      s = null;
    }
    if (!s) s = streams[k] = await open();
    return s;
  };
  const remember = (m: Mutated, transport: "udp" | "tcp") => {
    if (o.keepLast <= 0) return;
    r.last.push({ ...m, transport });
    if (r.last.length > o.keepLast) r.last.shift();
  };

  const next = messages(o);
  let pending: { m: Mutated; overTcp: boolean } | undefined;
  const t0 = Date.now();
  let lastProgress = t0;
  let lastTick = t0;
  /** The schedule: `rate` messages a second from `start`, `startSent` sent by then. */
  let start = t0;
  let startSent = 0;
  try {
    while (r.sent < o.count) {
      const now = Date.now();
      r.maxTickGapMs = Math.max(r.maxTickGapMs, now - lastTick);
      lastTick = now;
      if (now - t0 > o.maxMs) {
        r.stoppedEarly = `time bound of ${o.maxMs} ms reached`;
        break;
      }
      const reason = o.stopWhen();
      if (reason) {
        r.stoppedEarly = reason;
        break;
      }
      // After a pause of this process, catch up at most MAX_CATCH_UP_MS worth of
      // messages: a burst of a second's worth at once would measure queueing, not input.
      const behind = Math.floor(((now - start) / 1000) * o.rate) + 1 - (r.sent - startSent);
      const cap = Math.ceil((o.rate * MAX_CATCH_UP_MS) / 1000);
      if (behind > cap) {
        start = now;
        startSent = r.sent;
      }
      const due = Math.min(o.count, r.sent + Math.min(behind, cap));
      while (r.sent < due) {
        pending ??= next();
        const { m, overTcp } = pending;
        const bytes = byteStringToBytes(m.text);
        if (overTcp) {
          const s = await stream();
          if (!s) break; // a connect error, counted: the next tick tries again
          s.conn.write(bytes);
          s.used++;
          r.tcp++;
        } else {
          udp[r.sent % UDP_SOCKETS].send(bytes, o.proxy);
          r.udp++;
        }
        r.sent++;
        pending = undefined;
        remember(m, overTcp ? "tcp" : "udp");
      }
      if (o.progress && now - lastProgress >= 1000) {
        lastProgress = now;
        o.progress(r.sent);
      }
      await new Promise((res) => setTimeout(res, TICK_MS));
    }
    // Let the last writes and answers arrive before the sockets go.
    await new Promise((res) => setTimeout(res, 300));
  } finally {
    r.seconds = (Date.now() - t0) / 1000;
    for (const s of streams) if (s && !s.conn.closed) retire(s);
    for (const u of udp) u.close();
  }
  return r;
}
