// The TCP limits of the SIP transport against real sockets on 127.0.0.1: caps in
// total and per source, the deadline for a whole message, the idle timeout, the
// header cap, and the connection count when two listeners see the same peer port.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";
import {
  SipTransport,
  type TcpLimits,
  type TcpRefusal,
  type TransportLimits,
} from "../../src/transport/sip-transport.ts";
import type { Endpoint } from "../../src/transport/types.ts";
import { sleep, withTimeout } from "../support/wait.ts";

const OPTIONS = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n" +
  "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK1\r\n" +
  "Max-Forwards: 70\r\nTo: <sip:a@127.0.0.1>\r\nFrom: <sip:b@127.0.0.1>;tag=1\r\n" +
  "Call-ID: limits-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

const LOOSE: TcpLimits = {
  maxConnections: 1000,
  maxConnectionsPerSource: 0,
  messageTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxHeaderBytes: 16384,
};

interface Harness {
  transport: SipTransport;
  port: number;
  ports: number[];
  messages: string[];
  refusals: Array<{ reason: TcpRefusal; src: Endpoint }>;
  drops: string[];
}

let rt: Runtime;
const open: Harness[] = [];
const clients: net.Socket[] = [];

async function harness(
  tcp: Partial<TcpLimits>,
  opts: { listeners?: number; isExempt?: (host: string) => boolean } = {},
): Promise<Harness> {
  const h: Harness = {
    transport: null as unknown as SipTransport,
    port: 0,
    ports: [],
    messages: [],
    refusals: [],
    drops: [],
  };
  const limits: TransportLimits = {
    maxMessageBytes: 65535,
    tcp: { ...LOOSE, ...tcp },
    udpBufferBytes: null,
    isExempt: opts.isExempt,
  };
  h.transport = new SipTransport(rt, {
    onMessage: (bytes) => h.messages.push(new TextDecoder().decode(bytes)),
    onDrop: (reason) => h.drops.push(reason),
    onRefuse: (reason, src) => h.refusals.push({ reason, src }),
  }, limits);
  const specs = Array.from({ length: opts.listeners ?? 1 }, () => ({
    transport: "tcp",
    host: "127.0.0.1",
    port: 0,
  }));
  const opened = await h.transport.listen(specs);
  h.ports = opened.map((l) => l.port);
  h.port = h.ports[0];
  open.push(h);
  return h;
}

/** A client connection; resolves once connected. `closed` settles when the server closes it. */
async function connect(port: number, localPort?: number) {
  const sock = net.connect({ host: "127.0.0.1", port, localAddress: "127.0.0.1", localPort });
  clients.push(sock);
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  sock.on("close", () => closedResolve());
  sock.on("end", () => sock.destroy());
  sock.on("error", () => closedResolve());
  await withTimeout(new Promise((r) => sock.once("connect", r)), 3000, "TCP connect");
  return { sock, closed, isClosed: () => sock.destroyed };
}

/** Polls until `cond` holds (every 10 ms, at most `ms`). */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

const count = (h: Harness, reason: TcpRefusal) =>
  h.refusals.filter((r) => r.reason === reason).length;

describe("TCP limits of the SIP transport", () => {
  before(async () => {
    rt = await detectRuntime();
  });
  after(() => {
    for (const c of clients) c.destroy();
    for (const h of open) h.transport.close();
  });

  it("caps open connections in total: past the cap a new one is closed at once and counted", async () => {
    const h = await harness({ maxConnections: 5 });
    const conns = [];
    // Five in use (each delivered a message), then three more.
    for (let i = 0; i < 5; i++) {
      const c = await connect(h.port);
      c.sock.write(OPTIONS);
      conns.push(c);
    }
    await until(() => h.messages.length === 5, 3000, "5 messages");
    for (let i = 0; i < 3; i++) conns.push(await connect(h.port));
    await until(() => h.refusals.length === 3, 3000, "3 refusals");
    assert.equal(h.transport.connections, 5);
    assert.equal(count(h, "connection-limit"), 3);
    assert.deepEqual(new Map(h.transport.refusalCounts()).get("connection-limit"), 3);
    // The refused ones are closed by the server; the first five stay open.
    await withTimeout(Promise.all(conns.slice(5).map((c) => c.closed)), 3000, "refused closed");
    await sleep(50);
    assert.equal(conns.slice(0, 5).filter((c) => c.isClosed()).length, 0);
    // A closed connection frees its place.
    conns[0].sock.destroy();
    await until(() => h.transport.connections === 4, 3000, "4 connections");
    const again = await connect(h.port);
    await sleep(50);
    assert.equal(again.isClosed(), false);
    assert.equal(h.transport.connections, 5);
  });

  it("at the total cap, the oldest connection that never sent a message makes room for a new one", async () => {
    const h = await harness({ maxConnections: 5 });
    const busy = await connect(h.port);
    busy.sock.write(OPTIONS);
    await until(() => h.messages.length === 1, 3000, "the message");
    const idle = [];
    for (let i = 0; i < 4; i++) idle.push(await connect(h.port));
    await until(() => h.transport.connections === 5, 3000, "5 connections");
    // A caller arrives: the oldest idle one goes, the caller's call gets through.
    const caller = await connect(h.port);
    await withTimeout(idle[0].closed, 3000, "oldest idle closed");
    caller.sock.write(OPTIONS);
    await until(() => h.messages.length === 2, 3000, "the caller's message");
    assert.equal(h.transport.connections, 5);
    assert.equal(count(h, "connection-limit"), 1);
    assert.equal(busy.isClosed(), false);
    assert.equal(idle.slice(1).filter((c) => c.isClosed()).length, 0);
  });

  it("caps connections per source address, but never a pair member's", async () => {
    const h = await harness({ maxConnectionsPerSource: 2 });
    for (let i = 0; i < 4; i++) await connect(h.port);
    await until(() => h.refusals.length === 2, 3000, "2 refusals");
    assert.equal(count(h, "source-connection-limit"), 2);
    assert.equal(h.refusals[0].src.host, "127.0.0.1");
    assert.equal(h.transport.connections, 2);

    const member = await harness({ maxConnectionsPerSource: 2 }, {
      isExempt: (host) => host === "127.0.0.1",
    });
    for (let i = 0; i < 4; i++) await connect(member.port);
    await until(() => member.transport.connections === 4, 3000, "4 member connections");
    await sleep(50);
    assert.equal(member.refusals.length, 0);
  });

  it("closes a connection that sends nothing whole within the message deadline (a slow sender)", async () => {
    const h = await harness({ messageTimeoutMs: 200, idleTimeoutMs: 60_000 });
    const slow = await connect(h.port);
    const silent = await connect(h.port);
    const bytes = new TextEncoder().encode(OPTIONS);
    // One byte every 20 ms: the connection is never idle, but the message takes > 2 s.
    let i = 0;
    const drip = setInterval(() => {
      if (i < bytes.length && !slow.isClosed()) slow.sock.write(bytes.subarray(i, ++i));
    }, 20);
    try {
      await withTimeout(Promise.all([slow.closed, silent.closed]), 3000, "deadline close");
    } finally {
      clearInterval(drip);
    }
    assert.ok(i < bytes.length, `closed before the message was complete (${i} bytes sent)`);
    assert.equal(h.messages.length, 0);
    assert.equal(count(h, "message-timeout"), 2);
    assert.equal(h.transport.connections, 0);
  });

  it("keeps a connection that delivered a whole message past the deadline, then closes it when idle", async () => {
    const h = await harness({ messageTimeoutMs: 150, idleTimeoutMs: 600 });
    const c = await connect(h.port);
    const openedAt = Date.now();
    c.sock.write(OPTIONS);
    await until(() => h.messages.length === 1, 3000, "the message");
    await sleep(350); // past the message deadline, short of the idle timeout
    assert.equal(c.isClosed(), false);
    assert.equal(h.refusals.length, 0);
    await withTimeout(c.closed, 3000, "idle close");
    assert.ok(Date.now() - openedAt >= 550, "closed by the idle timeout, not before");
    assert.equal(count(h, "idle-timeout"), 1);
    assert.equal(h.transport.connections, 0);
  });

  it("keep-alive pings keep a connection from idling out", async () => {
    const h = await harness({ messageTimeoutMs: 5000, idleTimeoutMs: 300 });
    const c = await connect(h.port);
    c.sock.write(OPTIONS);
    const pongs: number[] = [];
    c.sock.on("data", (d: Uint8Array) => pongs.push(d.length));
    for (let i = 0; i < 6; i++) {
      c.sock.write("\r\n\r\n");
      await sleep(100);
    }
    assert.equal(c.isClosed(), false);
    assert.ok(pongs.length > 0, "pings answered");
  });

  it("refuses a header section over tcp.max_header_bytes, with or without its empty line", async () => {
    const h = await harness({ maxHeaderBytes: 1024 });
    const long = await connect(h.port);
    long.sock.write(OPTIONS.replace("\r\n\r\n", `\r\nX-Pad: ${"a".repeat(1100)}\r\n\r\n`));
    const endless = await connect(h.port);
    endless.sock.write(`OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nX-Pad: ${"b".repeat(2000)}`);
    await withTimeout(Promise.all([long.closed, endless.closed]), 3000, "header cap close");
    assert.deepEqual(h.drops, [
      "header section exceeds the limit",
      "header section exceeds the limit",
    ]);
    const fits = await connect(h.port);
    fits.sock.write(OPTIONS.replace("\r\n\r\n", `\r\nX-Pad: ${"c".repeat(600)}\r\n\r\n`));
    await until(() => h.messages.length === 1, 3000, "the message that fits");
  });

  it("counts every open connection, also two from one peer port to two listeners", async () => {
    const h = await harness({}, { listeners: 2 });
    // The same local port towards both listeners: the same remote host|port twice.
    let pair: Array<Awaited<ReturnType<typeof connect>>> = [];
    for (let attempt = 0; attempt < 5 && pair.length < 2; attempt++) {
      const localPort = 40_000 + Math.floor(Math.random() * 20_000);
      try {
        pair = [await connect(h.ports[0], localPort), await connect(h.ports[1], localPort)];
      } catch {
        for (const c of pair) c.sock.destroy();
        pair = [];
      }
    }
    assert.equal(pair.length, 2, "two connections from one local port");
    await until(() => h.transport.connections === 2, 3000, "2 connections counted");
    pair[0].sock.destroy();
    await until(() => h.transport.connections === 1, 3000, "1 connection left");
    pair[1].sock.destroy();
    await until(() => h.transport.connections === 0, 3000, "none left");
  });
});
