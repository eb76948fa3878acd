// The transport as the service sets it up: per-source protection in front of the SIP
// core (dropped before parsing, counted, logged once per source per minute, members
// never blocked), limits from the config and the descriptor limit, on real UDP sockets.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import type { Logger } from "@logtape/logtape";
import { parseConfig } from "../../src/config/index.ts";
import { detectRuntime, type Runtime, type UdpSocket } from "../../src/runtime/index.ts";
import { createServiceMetrics } from "../../src/service/metrics.ts";
import { registerProtectMetrics } from "../../src/service/core-metrics.ts";
import {
  descriptorReserve,
  setUpTransport,
  transportLimitsOf,
  type TransportSetup,
} from "../../src/service/transport-setup.ts";
import { sleep, withTimeout } from "../support/wait.ts";

const OPTIONS = new TextEncoder().encode(
  "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n" +
    "Max-Forwards: 70\r\nTo: <sip:a@127.0.0.1>\r\nFrom: <sip:b@127.0.0.1>;tag=1\r\n" +
    "Call-ID: setup-test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
);

function config(member: string, extra: string) {
  const text = [
    "listen: [udp://127.0.0.1:5060]",
    "advertise: 127.0.0.1",
    "pairs:",
    "  - name: a",
    `    primary: sip:${member}:25070`,
    `    backup: sip:${member}:25080`,
    extra,
  ].join("\n");
  const r = parseConfig(text + "\n", "test.yaml");
  if (!r.ok) throw new Error(r.error.map((e) => e.message).join("; "));
  return r.config;
}

/** A logger that keeps what it is given. */
function recordingLogger(lines: Array<{ level: string; event: unknown; props: unknown }>): Logger {
  const at = (level: string) => (_msg: string, props?: Record<string, unknown>) =>
    lines.push({ level, event: props?.event, props });
  return {
    debug: at("debug"),
    info: at("info"),
    warning: at("warning"),
    error: at("error"),
  } as unknown as Logger;
}

describe("the service's transport setup", () => {
  let rt: Runtime;
  const cleanup: Array<() => void> = [];
  before(async () => {
    rt = await detectRuntime();
  });
  after(() => {
    for (const c of cleanup) c();
  });

  async function start(member: string, extra: string) {
    const c = config(member, extra);
    const metrics = createServiceMetrics(rt, 0);
    const lines: Array<{ level: string; event: unknown; props: unknown }> = [];
    let delivered = 0;
    const setup: TransportSetup = await setUpTransport(
      rt,
      c,
      metrics,
      recordingLogger(lines),
      () => ({
        onMessage: () => delivered++,
        onSendError() {},
      }),
    );
    registerProtectMetrics(metrics, setup, () => rt.monotonic());
    const [udp] = await setup.transport.listen([{ transport: "udp", host: "127.0.0.1", port: 0 }]);
    const client: UdpSocket = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
    cleanup.push(() => client.close(), () => setup.transport.close());
    let sent = 0;
    /** Sends n datagrams and waits (at most 3 s) until each was delivered or dropped. */
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) client.send(OPTIONS, udp);
      sent += n;
      const seen = () => delivered + metrics.dropped.get({ reason: "source-blocked" });
      for (let waited = 0; seen() < sent && waited < 3000; waited += 10) await sleep(10);
    };
    return { setup, metrics, lines, send, delivered: () => delivered };
  }

  it("blocks a source past protect.max_requests_per_source, drops it unanswered for block_time, logs once", async () => {
    const s = await start(
      "127.0.0.2",
      "protect: { max_requests_per_source: 5, block_time: 400ms }",
    );
    await s.send(12);
    assert.equal(s.delivered(), 5, "the burst up to the rate reaches the core");
    assert.equal(s.metrics.dropped.get({ reason: "source-blocked" }), 7);
    const text = s.metrics.registry.render();
    assert.match(text, /^vipless_sources_blocked 1$/m);
    assert.match(text, /^vipless_source_blocks_total 1$/m);
    const logged = s.lines.filter((l) => l.event === "source-refused");
    assert.equal(logged.length, 1, "one line for the block, not one per message");
    assert.equal((logged[0].props as { host: string }).host, "127.0.0.1");
    await sleep(450); // the block is over: the source starts afresh
    await s.send(3);
    assert.equal(s.delivered(), 8);
  });

  it("refuses new TCP connections from a blocked source", async () => {
    const s = await start("127.0.0.2", "protect: { max_requests_per_source: 1, block_time: 1m }");
    const [tcp] = await s.setup.transport.listen([{
      transport: "tcp",
      host: "127.0.0.1",
      port: 0,
    }]);
    await s.send(3); // blocked over UDP
    const closed = new Promise<void>((resolve) => {
      const c = net.connect({ host: "127.0.0.1", port: tcp.port });
      c.on("close", () => resolve());
      c.on("error", () => resolve());
      c.on("end", () => c.destroy());
      cleanup.push(() => c.destroy());
    });
    await withTimeout(closed, 3000, "the blocked source's connection closed");
    const counts = new Map(s.setup.transport.refusalCounts());
    assert.equal(counts.get("source-blocked"), 1);
    assert.match(
      s.metrics.registry.render(),
      /^vipless_tcp_refused_total\{reason="source-blocked"\} 1$/m,
    );
  });

  it("never limits a pair member's address", async () => {
    const s = await start("127.0.0.1", "protect: { max_requests_per_source: 2, block_time: 1m }");
    await s.send(10);
    assert.equal(s.delivered(), 10);
    assert.equal(s.metrics.dropped.get({ reason: "source-blocked" }), 0);
  });

  it("logs the descriptor limit and UDP buffers once at start; metrics list every refusal reason", async () => {
    const s = await start("127.0.0.2", "");
    const events = s.lines.map((l) => l.event);
    assert.equal(events.filter((e) => e === "descriptor-limit").length, 1);
    assert.equal(events.filter((e) => e === "udp-buffers").length, 1);
    const text = s.metrics.registry.render();
    for (
      const reason of [
        "connection-limit",
        "source-connection-limit",
        "message-timeout",
        "idle-timeout",
      ]
    ) {
      assert.match(text, new RegExp(`^vipless_tcp_refused_total\\{reason="${reason}"\\} 0$`, "m"));
    }
    assert.match(text, /^vipless_tcp_connections_limit \d+$/m);
  });

  it("caps TCP connections below the open-files limit, keeping a reserve", () => {
    const c = config("127.0.0.2", "tcp: { max_connections: 100000 }");
    const exempt = () => false;
    const files = (soft: number) => ({ soft, hard: soft, raised: false, note: null });
    assert.equal(descriptorReserve(1024), 256);
    assert.equal(descriptorReserve(200), 50);
    assert.equal(transportLimitsOf(c, files(1024), null, exempt).tcp.maxConnections, 768);
    assert.equal(transportLimitsOf(c, files(200), null, exempt).tcp.maxConnections, 150);
    assert.equal(transportLimitsOf(c, files(1_000_000), null, exempt).tcp.maxConnections, 100000);
    // Unknown limit (Deno without --allow-ffi): 1024 assumed.
    assert.equal(transportLimitsOf(c, null, null, exempt).tcp.maxConnections, 768);
  });

  it("sip.udp_buffer_bytes: auto is the kernel maximum up to 8 MiB, a number is asked as is, 0 asks nothing", () => {
    const exempt = () => false;
    const small = { receive: 212992, send: 100000 };
    const big = { receive: 64 << 20, send: 64 << 20 };
    const auto = config("127.0.0.2", "");
    assert.deepEqual(transportLimitsOf(auto, null, small, exempt).udpBufferBytes, small);
    assert.deepEqual(transportLimitsOf(auto, null, big, exempt).udpBufferBytes, {
      receive: 8 << 20,
      send: 8 << 20,
    });
    // Ceilings unknown: the most is asked, the kernel caps it.
    assert.deepEqual(transportLimitsOf(auto, null, null, exempt).udpBufferBytes, {
      receive: 8 << 20,
      send: 8 << 20,
    });
    const fixed = config("127.0.0.2", "sip: { udp_buffer_bytes: 65536 }");
    assert.deepEqual(transportLimitsOf(fixed, null, small, exempt).udpBufferBytes, {
      receive: 65536,
      send: 65536,
    });
    const off = config("127.0.0.2", "sip: { udp_buffer_bytes: 0 }");
    assert.equal(transportLimitsOf(off, null, small, exempt).udpBufferBytes, null);
  });
});
