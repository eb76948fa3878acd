// What a running vipless does with bad input from the network: a malformed request gets
// 400 and is not forwarded, a response that is not for us is dropped and counted, and
// random bytes over UDP and TCP never stop it from serving calls.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Rig, RUNTIME, startRig, WAIT_MS } from "./integration-harness.ts";
import { TestUa } from "../support/test-ua.ts";
import type { Received, Transport } from "../support/sip-peer.ts";
import { newBranch, newCallId } from "../support/sip-text.ts";
import { seededRandom } from "../support/random.ts";
import { runtime } from "../support/vipless-process.ts";
import { sleep } from "../support/wait.ts";

const callee = "sip:bob@site-a.example.com";
const VIA_NOT_OURS = 'vipless_dropped_total{reason="via-not-ours"}';

/** A request as an endpoint would send it, with `edit` applied to its header lines. */
function request(ua: TestUa, branch: string, edit: (lines: string[]) => string[]): string {
  const text = ua.buildRequestText("INVITE", { uri: callee, to: `<${callee}>`, branch });
  const [head] = text.split("\r\n\r\n");
  return edit(head.split("\r\n")).join("\r\n") + "\r\n\r\n";
}

const MALFORMED: Array<[string, (lines: string[]) => string[]]> = [
  ["no Call-ID", (l) => l.filter((h) => !/^Call-ID:/i.test(h))],
  ["CSeq method differs", (l) => l.map((h) => /^CSeq:/i.test(h) ? "CSeq: 1 BYE" : h)],
  [
    "Max-Forwards not a number",
    (l) => l.map((h) => /^Max-Forwards:/i.test(h) ? "Max-Forwards: many" : h),
  ],
  ["two CSeq headers", (l) => [...l, "CSeq: 2 INVITE"]],
];

/** Random bytes, a valid request cut short, or a valid request with bytes overwritten. */
function garbage(rand: () => number, valid: Uint8Array): Uint8Array {
  const kind = Math.floor(rand() * 3);
  if (kind === 0) {
    const out = new Uint8Array(Math.floor(rand() * 1400));
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 256);
    return out;
  }
  if (kind === 1) return valid.slice(0, Math.floor(rand() * valid.length));
  const out = valid.slice();
  const flips = 1 + Math.floor(rand() * 8);
  for (let i = 0; i < flips; i++) {
    out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
  }
  return out;
}

describe(`proxy integration: protection (${RUNTIME})`, () => {
  let rig: Rig;
  const uas: Partial<Record<Transport, TestUa>> = {};
  before(async () => {
    rig = await startRig({ members: "udp" });
    uas.udp = rig.ua;
    uas.tcp = await TestUa.start({ transport: "tcp" });
  });
  after(async () => {
    uas.tcp?.stop();
    await rig?.stop();
  });

  /** vipless still serves: OPTIONS to it answered 200 over both transports. */
  async function assertAnswering(): Promise<void> {
    for (const t of ["udp", "tcp"] as const) {
      const r = await uas[t]!.options(rig.proxy, { timeoutMs: WAIT_MS });
      assert.equal(r.status, 200, `OPTIONS over ${t}`);
    }
  }

  /** Polls /metrics until `name` reaches `atLeast` (or the bound passes); returns its value. */
  async function metricReaching(name: string, atLeast: number): Promise<number> {
    let v = await rig.metric(name);
    for (let i = 0; i < 40 && v < atLeast; i++) {
      await sleep(50);
      v = await rig.metric(name);
    }
    return v;
  }

  for (const t of ["udp", "tcp"] as const) {
    it(`a malformed request over ${t} gets 400, is not forwarded, and vipless keeps answering`, async () => {
      const ua = uas[t]!;
      for (const [what, edit] of MALFORMED) {
        const branch = newBranch();
        const from = ua.received.length;
        await ua.send(request(ua, branch, edit), rig.proxy);
        const got = await ua.waitFor(
          (r: Received) => r.msg.kind === "response" && r.msg.status >= 200,
          WAIT_MS,
          from,
        );
        assert.equal(got.msg.status, 400, `${what}: ${got.msg.startLine}`);
        const forwarded = rig.primary.received.concat(rig.backup.received).some((r) =>
          r.msg.raw.includes(branch)
        );
        assert.equal(forwarded, false, `${what}: not forwarded`);
      }
      await assertAnswering();
    });
  }

  it("a response whose top Via is not ours is dropped and counted in /metrics", async () => {
    const before = await rig.metric(VIA_NOT_OURS);
    const response = (callId: string) =>
      "SIP/2.0 200 OK\r\n" +
      `Via: SIP/2.0/UDP 192.0.2.7:5060;branch=${newBranch()}\r\n` +
      "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n" +
      `Call-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;
    const ids = [newCallId(), newCallId()];
    await uas.udp!.send(response(ids[0]), rig.proxy);
    await uas.tcp!.send(response(ids[1]), rig.proxy);
    assert.equal(await metricReaching(VIA_NOT_OURS, before + 2), before + 2);
    await assertAnswering();
    // Dropped, not relayed anywhere we can see.
    for (const peer of [rig.primary, rig.backup, uas.udp!, uas.tcp!]) {
      assert.ok(!peer.received.some((r) => ids.some((id) => r.msg.raw.includes(id))));
    }
  });

  it("random bytes over UDP and TCP never stop vipless from serving calls", {
    timeout: 30_000,
  }, async () => {
    const seed = Date.now() >>> 0;
    const rand = seededRandom(seed); // seeded, so a failure names the input that caused it
    const rt = await runtime();
    const valid = new TextEncoder().encode(
      rig.ua.buildRequestText("INVITE", {
        uri: callee,
        to: `<${callee}>`,
        callId: newCallId(),
        body: "v=0\r\n",
      }),
    );
    const udp = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
    try {
      for (let i = 0; i < 400; i++) {
        udp.send(garbage(rand, valid), rig.proxy);
        if (i % 50 === 49) await sleep(10); // let the socket buffers drain
      }
    } finally {
      udp.close();
    }
    for (let c = 0; c < 10; c++) {
      const conn = await rt.connectTcp(rig.proxy, { onData() {} });
      for (let i = 0; i < 10 && !conn.closed; i++) conn.write(garbage(rand, valid));
      await sleep(20);
      conn.close();
    }
    assert.equal(rig.proc.child.exitCode, null, `vipless exited (seed ${seed})`);
    const health = await fetch(`http://127.0.0.1:${rig.httpPort}/health`);
    await health.body?.cancel();
    assert.equal(health.status, 200, `seed ${seed}`);
    await assertAnswering();
    const r = await rig.ua.call(rig.proxy, { to: callee, timeoutMs: WAIT_MS });
    assert.equal(r.status, 200, `a call after the garbage (seed ${seed})`);
    assert.equal((await r.dialog!.bye({ timeoutMs: WAIT_MS })).status, 200);
  });
});
