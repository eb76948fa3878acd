// The service glue (src/service/sip-core.ts) on a fake runtime: one timer for the proxy
// and the prober on the monotonic clock, probes out through the transport and their
// answers back in through the proxy, and failover acted on without a listener.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PROBE_BRANCH_PREFIX } from "../../src/proxy/loop.ts";
import { type SipCore } from "../../src/service/sip-core.ts";
import type { Endpoint } from "../../src/transport/types.ts";
import { buildResponse, parseMessage, type SipMessage } from "../support/sip-text.ts";
import { type CoreRig, coreRig, probeAnswer } from "./core-rig.ts";
import { FakeClock } from "./fake-runtime.ts";

const CONFIG = `advertise: 192.0.2.10:5060
serve: site-a
probe: { interval: 1s, timeout: 500ms, failures: 2, force_interval: 500ms }
pairs:
  - name: site-a
    primary: sip:10.0.0.11:5060
    backup: sip:10.0.0.12:5060
  - name: site-b
    primary: sip:10.1.0.11:5060;transport=tcp
    backup: sip:10.1.0.12:5060;transport=tcp
`;
const LOCAL = { host: "192.0.2.10", port: 5060 };
const PROBE_PORT = 5099;

const UAC = { transport: "udp" as const, host: "192.0.2.50", port: 5062, local: LOCAL };

/** A new call's INVITE from the UAC. */
function newInvite(n: number): string {
  return [
    "INVITE sip:bob@example.com SIP/2.0",
    `Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bK-call-${n};rport`,
    "Max-Forwards: 70",
    `From: <sip:alice@example.com>;tag=a${n}`,
    "To: <sip:bob@example.com>",
    `Call-ID: call-${n}@192.0.2.50`,
    "CSeq: 1 INVITE",
    "Contact: <sip:alice@192.0.2.50:5062>",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** A member's response to a request forwarded to it. */
function reply(req: SipMessage, status: number): string {
  return buildResponse(status, "Trying", [
    ...req.getAll("via").map((v): [string, string] => ["Via", v]),
    ["From", req.get("from")!],
    ["To", req.get("to")!],
    ["Call-ID", req.get("call-id")!],
    ["CSeq", req.get("cseq")!],
  ]);
}

interface SentProbe {
  to: Endpoint;
  msg: SipMessage;
  branch: string;
  mono: number;
}

/** sip-core over a fake clock and a transport that records what is sent. */
class Glue {
  readonly clock = new FakeClock();
  readonly startWall = this.clock.wall;
  readonly probes: SentProbe[] = [];
  /** Everything else sent (requests forwarded, responses), with the clock. */
  readonly other: Array<{ to: Endpoint; msg: SipMessage; mono: number }> = [];
  readonly core: SipCore;
  readonly metrics: CoreRig["metrics"];
  /** Hosts that do not answer probes. */
  readonly silent = new Set<string>();
  /** Wall-clock times at which answers were delivered. */
  readonly answeredAt: number[] = [];
  #queue: SentProbe[] = [];

  constructor() {
    const send = (bytes: Uint8Array, to: Endpoint) => {
      const msg = parseMessage(bytes);
      if (msg.method !== "OPTIONS") {
        this.other.push({ to, msg, mono: this.clock.mono });
        return;
      }
      const branch = /branch=([^;]+)/.exec(msg.get("via") ?? "")![1];
      const probe = { to, msg, branch, mono: this.clock.mono };
      this.probes.push(probe);
      if (!this.silent.has(to.host)) this.#queue.push(probe);
    };
    // Probes leave from a probe socket of their own (port 5099): its port is in their Via.
    const rt = this.clock.runtime();
    ({ core: this.core, metrics: this.metrics } = coreRig({
      config: CONFIG,
      rt,
      send,
      probePort: PROBE_PORT,
    }));
  }

  start(): void {
    this.core.start([{ transport: "udp", ...LOCAL }]);
  }

  /** Runs the clock in 5 ms steps, answering probes between steps; `each` after every step. */
  run(ms: number, each?: () => void): void {
    for (let t = 0; t < ms; t += 5) {
      this.clock.advance(5);
      const due = this.#queue;
      this.#queue = [];
      for (const p of due) this.answer(p, 200);
      // One timer for the proxy and the prober, two that sample vipless's own delay.
      assert.ok(this.clock.live <= 3, `${this.clock.live} runtime timers live`);
      each?.();
    }
  }

  answer(p: SentProbe, status: number, branch = p.branch): void {
    const via = (p.msg.get("via") ?? "").replace(p.branch, branch);
    const bytes = new TextEncoder().encode(probeAnswer(p.msg, status, via));
    this.answeredAt.push(this.clock.wall);
    this.core.onMessage(bytes, { ...p.to, local: LOCAL });
  }

  member(pair: string, host: string) {
    const p = this.core.pairsStatus().find((x) => x.name === pair)!;
    return p.members.find((m) => m.uri.includes(host))!;
  }
}

describe("sip-core: probes", () => {
  it("probes every member about once per interval on the monotonic clock, whatever the wall clock does", () => {
    const g = new Glue();
    g.start();
    g.run(2_000);
    g.clock.wall -= 3_600_000; // the system clock is stepped back an hour
    g.run(3_000);
    for (const host of ["10.0.0.11", "10.0.0.12", "10.1.0.11", "10.1.0.12"]) {
      const n = g.probes.filter((p) => p.to.host === host).length;
      assert.ok(n >= 4 && n <= 6, `${host}: ${n} probes in 5 s`);
    }
    assert.deepEqual(
      [...new Set(g.probes.map((p) => `${p.to.transport}:${p.to.host}`))].sort(),
      ["tcp:10.1.0.11", "tcp:10.1.0.12", "udp:10.0.0.11", "udp:10.0.0.12"],
    );
  });

  it("UDP probes name the probe socket's port in their Via; TCP probes the advertised address", () => {
    const g = new Glue();
    g.start();
    g.run(1_500);
    const via = (p: SentProbe) => p.msg.get("via") ?? "";
    const udp = g.probes.filter((p) => p.to.transport === "udp");
    const tcp = g.probes.filter((p) => p.to.transport === "tcp");
    assert.ok(udp.length > 0 && tcp.length > 0);
    for (const p of udp) assert.match(via(p), /^SIP\/2\.0\/UDP 192\.0\.2\.10:5099;/);
    for (const p of tcp) assert.match(via(p), /^SIP\/2\.0\/TCP 192\.0\.2\.10:5060;/);
    // Their answers, with that Via, are taken as ours: the members come up.
    assert.equal(g.member("site-a", "10.0.0.11").status, "up");
  });

  it("an answer reaches the registry through the proxy; /status shows times on the wall clock", () => {
    const g = new Glue();
    g.start();
    g.run(1_500);
    const m = g.member("site-a", "10.0.0.11");
    assert.equal(m.status, "up");
    assert.ok(g.answeredAt.map((t) => new Date(t).toISOString()).includes(m.lastAnswerAt!));
    const pair = g.core.pairsStatus()[0];
    assert.equal(pair.since, new Date(g.startWall).toISOString());
    assert.equal(g.core.ready(), true);
  });

  it("branches are the proxy's probe prefix and 16 random hex digits, never repeated", () => {
    const g = new Glue();
    g.start();
    g.run(3_000);
    assert.equal(PROBE_BRANCH_PREFIX, "z9hG4bKvp");
    assert.ok(g.probes.length >= 8);
    for (const p of g.probes) assert.match(p.branch, /^z9hG4bKvp[0-9a-f]{16}$/);
    assert.equal(new Set(g.probes.map((p) => p.branch)).size, g.probes.length);
  });

  it("an answer to a branch no probe has counts as a stale probe response and changes nothing", () => {
    const g = new Glue();
    g.silent.add("10.0.0.11");
    g.start();
    g.run(1_000);
    const probe = g.probes.find((p) => p.to.host === "10.0.0.11")!;
    g.answer(probe, 200, `${PROBE_BRANCH_PREFIX}00000000deadbeef`);
    assert.equal(g.metrics.dropped.get({ reason: "stale-probe-response" }), 1);
    assert.notEqual(g.member("site-a", "10.0.0.11").status, "up");
  });

  it("a refused TCP connection is a miss at once, not after the probe timeout", () => {
    const g = new Glue();
    g.silent.add("10.1.0.11");
    g.start();
    // Up to the first probe: its timeout (500 ms) is still far off.
    for (let t = 0; t < 1_000 && !g.probes.some((p) => p.to.host === "10.1.0.11"); t += 5) {
      g.run(5);
    }
    assert.ok(g.probes.some((p) => p.to.host === "10.1.0.11"), "probed");
    assert.equal(g.member("site-b", "10.1.0.11").consecutiveFailures, 0);
    g.core.onSendError({ transport: "tcp", host: "10.1.0.11", port: 5060 }, new Error("refused"));
    assert.equal(g.member("site-b", "10.1.0.11").consecutiveFailures, 1);
  });
});

describe("sip-core: vipless's own stalls", () => {
  it("a stall of the event loop longer than the probe timeout counts as no miss", () => {
    const g = new Glue();
    g.start();
    g.run(1_500);
    // Step until a probe to the primary is out and unanswered, then stall 3 s: its
    // answer arrives during the stall and waits, unread, in the socket.
    const toPrimary = () => g.probes.filter((p) => p.to.host === "10.0.0.11").length;
    const sent = toPrimary();
    for (let t = 0; t < 2_000 && toPrimary() === sent; t += 5) g.clock.advance(5);
    assert.ok(toPrimary() > sent, "a probe went out");
    g.clock.stall(3_000);
    g.clock.fireDue();
    g.clock.advance(5); // the timers run (the postponed tick too) before the socket is read
    assert.equal(g.member("site-a", "10.0.0.11").consecutiveFailures, 0, "no miss judged");
    g.run(1_000);
    for (const host of ["10.0.0.11", "10.0.0.12"]) {
      const m = g.member("site-a", host);
      assert.equal(m.status, "up", host);
      assert.equal(m.consecutiveFailures, 0, `${host}: the stall was not the member's`);
    }
    const lag = g.core.lag.histogram;
    const out: string[] = [];
    lag.render(out);
    const over = out.find((l) => l.startsWith('vipless_event_loop_lag_seconds_bucket{le="2.5"}'));
    const all = out.find((l) => l.startsWith("vipless_event_loop_lag_seconds_count"));
    assert.ok(over && all && Number(over.split(" ")[1]) < Number(all.split(" ")[1]));
  });
});

describe("sip-core: failover", () => {
  it("a member found down has its ringing INVITEs moved by sip-core at once, not via a listener", () => {
    const g = new Glue();
    const moved: Array<{ host: string; port: number }> = [];
    g.core.proxy.onMemberDown = (member) => {
      moved.push(member);
    };
    g.silent.add("10.0.0.11");
    g.start();
    let sawDown = false;
    g.run(5_000, () => {
      // Checked synchronously after every step: nothing is left for a microtask.
      const down = g.member("site-a", "10.0.0.11").status === "down";
      if (down && !sawDown) assert.deepEqual(moved, [{ host: "10.0.0.11", port: 5060 }]);
      sawDown ||= down;
    });
    assert.ok(sawDown, "the silent primary was marked down");
    assert.deepEqual(moved, [{ host: "10.0.0.11", port: 5060 }]);
    assert.equal(g.core.pairsStatus()[0].activeRole, "backup");
  });

  it("a ringing INVITE on a pair that goes out of service gets 503 at once, not at Timer C", () => {
    const g = new Glue();
    g.start();
    g.run(1_500);
    g.core.onMessage(new TextEncoder().encode(newInvite(1)), UAC);
    const fwd = g.other.find((o) => o.msg.kind === "request" && o.msg.method === "INVITE")!;
    assert.equal(fwd.to.host, "10.0.0.11");
    // Each member it reaches rings; then both stop answering probes.
    const ring = (o: { to: Endpoint; msg: SipMessage }) => {
      const ringing = buildResponse(180, "Ringing", [
        ...o.msg.getAll("via").map((v): [string, string] => ["Via", v]),
        ["From", o.msg.get("from")!],
        ["To", `${o.msg.get("to")!};tag=uas`],
        ["Call-ID", o.msg.get("call-id")!],
        ["CSeq", o.msg.get("cseq")!],
      ]);
      g.core.onMessage(new TextEncoder().encode(ringing), { ...o.to, local: LOCAL });
    };
    ring(fwd);
    g.silent.add("10.0.0.11");
    g.silent.add("10.0.0.12");
    let outAt: number | null = null;
    let rungBackup = false;
    g.run(10_000, () => {
      const toBackup = g.other.find((o) => o.msg.kind === "request" && o.to.host === "10.0.0.12");
      if (toBackup && !rungBackup) {
        rungBackup = true;
        ring(toBackup);
      }
      if (outAt === null && !g.core.pairsStatus()[0].inService) outAt = g.clock.mono;
    });
    assert.notEqual(outAt, null, "the pair went out of service");
    const final = g.other.find((o) => o.to.host === "192.0.2.50" && o.msg.status >= 200);
    assert.equal(final?.msg.status, 503);
    assert.ok(final!.mono - outAt! <= 5, `503 ${final!.mono - outAt!} ms after out of service`);
  });

  it("a primary that goes silent under calls is down after probe.timeout of silence and one probe, before failover.timeout", () => {
    const g = new Glue();
    g.start();
    g.run(1_500);
    let n = 0;
    const call = () => g.core.onMessage(new TextEncoder().encode(newInvite(++n)), UAC);
    const answer100 = () => {
      for (const o of g.other.splice(0)) {
        if (o.msg.kind === "request" && o.msg.method === "INVITE") {
          g.core.onMessage(new TextEncoder().encode(reply(o.msg, 100)), { ...o.to, local: LOCAL });
        }
      }
    };
    // Calls every 20 ms, each answered 100 Trying by the primary.
    for (let i = 0; i < 25; i++) {
      call();
      answer100();
      g.run(20);
    }
    // Killed: nothing more from it, probes included.
    g.silent.add("10.0.0.11");
    const killedAt = g.clock.mono;
    let backupAt: number | null = null;
    for (let i = 0; i < 100 && backupAt === null; i++) {
      call();
      g.other.splice(0);
      g.run(20, () => {
        if (backupAt === null && g.core.pairsStatus()[0].activeRole === "backup") {
          backupAt = g.clock.mono;
        }
      });
    }
    assert.notEqual(backupAt, null, "switched to the backup");
    const after = backupAt! - killedAt;
    // Silence (500 ms) plus one probe miss (500 ms); the forward failure would come at
    // failover.timeout (1 s) plus a probe, and two plain misses later still.
    assert.ok(after <= 1_010, `switched ${after} ms after the kill`);
    assert.equal(g.member("site-a", "10.0.0.11").status, "down");
  });

  it("a member silent to calls but answering probes stays active: silence only makes it suspect", () => {
    const g = new Glue();
    g.start();
    g.run(1_500);
    for (let i = 1; i <= 150; i++) {
      g.core.onMessage(new TextEncoder().encode(newInvite(i)), UAC);
      g.run(20);
    }
    assert.equal(g.core.pairsStatus()[0].activeRole, "primary");
    assert.equal(g.member("site-a", "10.0.0.11").status, "up");
  });

  it("stop() leaves no runtime timer", () => {
    const g = new Glue();
    g.start();
    g.run(500);
    g.core.stop();
    assert.equal(g.clock.live, 0);
  });
});
