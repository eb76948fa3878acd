// Who counts as a pair member, through the service glue (proxy, router and registry as
// they run) on a fake clock: only the transport says so — the source address over UDP,
// over TCP the connection vipless opened or a peer IP that is one member's — and never
// what a message says about itself (its Via). Probe answers count only from the probed
// member's address.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TRYING_DELAY_MS } from "../../src/proxy/delayed-trying.ts";
import type { Runtime } from "../../src/runtime/types.ts";
import { type SipCore } from "../../src/service/sip-core.ts";
import type { InboundSource } from "../../src/transport/types.ts";
import { buildRequest, type HeaderList, parseMessage } from "../support/sip-text.ts";
import { type CoreRig, coreRig, probeAnswer, type Sent } from "./core-rig.ts";
import { FakeClock } from "./fake-runtime.ts";

// "shared": both members on one host (a lab, or two servers behind one NAT address).
// "apart": a member per host. "named": members configured by DNS name.
const CONFIG = `advertise: 192.0.2.10:5060
serve: shared
probe: { interval: 1s, timeout: 500ms, failures: 2, force_interval: 500ms }
pairs:
  - name: shared
    primary: sip:10.0.0.1:5060;transport=tcp
    backup: sip:10.0.0.1:5070;transport=tcp
  - name: apart
    primary: sip:10.1.0.11:5060
    backup: sip:10.1.0.12:5060
  - name: named
    primary: sip:pbx-a.test:5060
    backup: sip:pbx-b.test:5060
`;
const LOCAL = { host: "192.0.2.10", port: 5060 };
const NAMES: Record<string, string> = { "pbx-a.test": "10.3.0.1", "pbx-b.test": "10.3.0.2" };
const FOREIGN = "203.0.113.9";

type From = Omit<InboundSource, "local">;

/** sip-core over a fake clock, a fake resolver and a transport that records what is sent. */
class Glue {
  readonly clock = new FakeClock();
  readonly out: Sent[] = [];
  readonly core: SipCore;
  readonly metrics: CoreRig["metrics"];
  /** Hosts whose probes nobody answers. */
  readonly silent = new Set<string>();
  #answered = 0;

  constructor() {
    const base = this.clock.runtime();
    const lookup = (host: string) =>
      NAMES[host] ? Promise.resolve(NAMES[host]) : Promise.reject(new Error(`no ${host}`));
    const rt = new Proxy(base, {
      get: (t, k) => (k === "lookup" ? lookup : t[k as keyof Runtime]),
    }) as Runtime;
    ({ core: this.core, metrics: this.metrics } = coreRig({
      config: CONFIG,
      rt,
      send: (bytes, to) => this.out.push({ to, msg: parseMessage(bytes) }),
    }));
    this.core.start([{ transport: "udp", ...LOCAL }, { transport: "tcp", ...LOCAL }]);
  }

  /** The probes sent so far. */
  probes(): Sent[] {
    return this.out.filter((o) => o.msg.method === "OPTIONS" && o.to.host !== LOCAL.host);
  }

  /**
   * Runs the clock in 5 ms steps; every member not `silent` answers each new probe 200
   * from its own address (over TCP on the connection vipless opened to it).
   */
  async run(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 5) {
      this.clock.advance(5);
      const probes = this.probes();
      // A member's name resolves while its probe travels: let the lookup settle first.
      if (probes.length > this.#answered) await new Promise((r) => setTimeout(r, 0));
      for (const p of probes.slice(this.#answered)) {
        const addr = NAMES[p.to.host] ?? p.to.host;
        if (this.silent.has(addr)) continue;
        this.answer(p, { ...p.to, host: addr, outbound: p.to.transport === "tcp" });
      }
      this.#answered = probes.length;
    }
  }

  /** Answers probe `p` with 200 as coming from `from`. */
  answer(p: Sent, from: From): void {
    this.receive(probeAnswer(p.msg, 200), from);
  }

  receive(text: string, from: From): void {
    this.core.onMessage(new TextEncoder().encode(text), { ...from, local: LOCAL });
  }

  /** The INVITEs forwarded since `mark` (an index into `out`). */
  forwarded(mark: number): Sent[] {
    return this.out.slice(mark).filter((o) =>
      o.msg.kind === "request" && o.msg.method === "INVITE"
    );
  }

  activeRole(pair: string): string | null {
    return this.core.pairsStatus().find((p) => p.name === pair)!.activeRole;
  }

  member(pair: string, role: string) {
    return this.core.pairsStatus().find((p) => p.name === pair)!.members.find((m) =>
      m.role === role
    )!;
  }

  metric(name: string): string[] {
    const lines: string[] = [];
    const text = this.metrics.registry.render();
    for (const line of text.split("\n")) if (line.startsWith(name)) lines.push(line);
    return lines;
  }
}

let seq = 0;
/** An INVITE as a member (or whoever claims to be one) sends it. */
function invite(uri: string, via: string, extra: HeaderList = []): string {
  seq++;
  return buildRequest("INVITE", uri, [
    ["Via", `${via};branch=z9hG4bKid${seq}`],
    ["Max-Forwards", "70"],
    ["From", `<sip:server@${FOREIGN}>;tag=f${seq}`],
    ["To", `<${uri}>`],
    ["Call-ID", `identity-${seq}@test`],
    ["CSeq", "1 INVITE"],
    ["Contact", "<sip:server@10.0.0.1:5070>"],
    ...extra,
  ]);
}

const BOB = `sip:bob@${FOREIGN}`;

describe("sip-core: member identity over TCP", () => {
  it("a connection from another port of a member's IP naming the backup in its Via does not switch the pair", async () => {
    const g = new Glue();
    await g.run(1_500);
    assert.equal(g.activeRole("shared"), "primary");
    const mark = g.out.length;
    // Not a connection vipless opened; its Via claims to be the backup (10.0.0.1:5070).
    g.receive(invite(BOB, "SIP/2.0/TCP 10.0.0.1:5070"), {
      transport: "tcp",
      host: "10.0.0.1",
      port: 40_000,
      outbound: false,
    });
    assert.equal(g.activeRole("shared"), "primary", "no traffic-from-backup switchover");
    assert.equal(g.core.registry.switchoverCounts().filter((c) => c.count > 0).length, 0);
    // A member host is routed like a member: the INVITE goes where it asks.
    const sent = g.forwarded(mark);
    assert.deepEqual(sent.map((o) => o.to.host), [FOREIGN]);
  });

  it("an endpoint on the members' IP, its Via naming itself, is an endpoint", async () => {
    const g = new Glue();
    await g.run(1_500);
    const mark = g.out.length;
    g.receive(
      invite(BOB, "SIP/2.0/TCP 10.0.0.1:40000", [["X-Genesys-Route", `<sip:${FOREIGN}:5080>`]]),
      { transport: "tcp", host: "10.0.0.1", port: 40_000, outbound: false },
    );
    const sent = g.forwarded(mark);
    assert.deepEqual(sent.map((o) => `${o.to.host}:${o.to.port}`), ["10.0.0.1:5060"]);
    assert.equal(sent[0].msg.get("x-genesys-route"), undefined);
    assert.equal(g.activeRole("shared"), "primary");
  });

  it("a request on the connection vipless opened to the backup is the backup's: it takes over", async () => {
    const g = new Glue();
    await g.run(1_500);
    // The Via names the server as it calls itself; only the connection identifies it.
    g.receive(invite(BOB, "SIP/2.0/TCP backup.example.com:5070"), {
      transport: "tcp",
      host: "10.0.0.1",
      port: 5070,
      outbound: true,
    });
    assert.equal(g.activeRole("shared"), "backup");
    assert.deepEqual(g.core.registry.switchoverCounts().filter((c) => c.count > 0), [
      { pair: "shared", reason: "traffic-from-backup", count: 1 },
    ]);
  });

  it("an inbound connection from the IP of exactly one member is that member (its port is ephemeral)", async () => {
    const g = new Glue();
    await g.run(1_500);
    g.receive(invite(BOB, "SIP/2.0/TCP 10.9.9.9:5999"), {
      transport: "tcp",
      host: "10.1.0.12",
      port: 41_234,
      outbound: false,
    });
    assert.equal(g.activeRole("apart"), "backup");
  });

  it("a host that is no member is not one whatever its Via says", async () => {
    const g = new Glue();
    await g.run(1_500);
    const mark = g.out.length;
    g.receive(
      invite(BOB, "SIP/2.0/TCP 10.1.0.12:5060", [["X-Genesys-Route", `<sip:${FOREIGN}:5080>`]]),
      { transport: "tcp", host: "192.0.2.77", port: 5060, outbound: false },
    );
    assert.equal(g.activeRole("apart"), "primary");
    const sent = g.forwarded(mark);
    assert.deepEqual(sent.map((o) => `${o.to.host}:${o.to.port}`), ["10.0.0.1:5060"]);
    assert.equal(sent[0].msg.get("x-genesys-route"), undefined);
  });
});

describe("sip-core: member identity over UDP", () => {
  it("a datagram from another port of a member's IP is no member: no switch, no relay", async () => {
    const g = new Glue();
    await g.run(1_500);
    const mark = g.out.length;
    g.receive(
      invite(BOB, "SIP/2.0/UDP 10.1.0.12:5060", [["X-Genesys-Route", `<sip:${FOREIGN}:5080>`]]),
      { transport: "udp", host: "10.1.0.12", port: 40_000 },
    );
    assert.equal(g.activeRole("apart"), "primary", "no switchover");
    const sent = g.forwarded(mark);
    assert.deepEqual(sent.map((o) => `${o.to.host}:${o.to.port}`), ["10.0.0.1:5060"]);
    assert.equal(sent[0].msg.get("x-genesys-route"), undefined, "not forwarded either");
  });

  it("a datagram from a member's own address is the member's: X-Genesys-Route honoured", async () => {
    const g = new Glue();
    await g.run(1_500);
    const mark = g.out.length;
    g.receive(
      invite(BOB, "SIP/2.0/UDP 10.1.0.11:5060", [["X-Genesys-Route", `<sip:${FOREIGN}:5080>`]]),
      { transport: "udp", host: "10.1.0.11", port: 5060 },
    );
    const sent = g.forwarded(mark);
    assert.deepEqual(sent.map((o) => `${o.to.host}:${o.to.port}`), [`${FOREIGN}:5080`]);
  });

  it("a member configured by name is known by its resolved address", async () => {
    const g = new Glue();
    await g.run(1_500);
    assert.equal(g.member("named", "backup").status, "up", "probe answers from 10.3.0.2 count");
    g.receive(invite(BOB, "SIP/2.0/UDP pbx-b.test:5060"), {
      transport: "udp",
      host: "10.3.0.2",
      port: 5060,
    });
    assert.equal(g.activeRole("named"), "backup");
  });
});

describe("sip-core: probe answers only from the probed member", () => {
  it("forged 200s from elsewhere do not keep a dead primary up, and are counted", async () => {
    const g = new Glue();
    await g.run(1_500);
    assert.equal(g.member("apart", "primary").status, "up");
    g.silent.add("10.1.0.11");
    let forged = 0;
    // For 5 s someone else answers the primary's probes, with the right branch.
    for (let t = 0; t < 5_000; t += 50) {
      const mark = g.out.length;
      await g.run(50);
      for (const p of g.out.slice(mark)) {
        if (p.msg.method !== "OPTIONS" || p.to.host !== "10.1.0.11") continue;
        g.answer(p, { transport: "udp", host: "10.1.0.11", port: 5999 }); // right IP, wrong port
        g.answer(p, { transport: "udp", host: "192.0.2.66", port: 5060 });
        forged += 2;
      }
    }
    assert.ok(forged >= 8, `${forged} forged answers`);
    assert.equal(g.member("apart", "primary").status, "down");
    assert.equal(g.activeRole("apart"), "backup");
    assert.deepEqual(
      g.metric('vipless_probe_answers_rejected_total{pair="apart",member="sip:10.1.0.11'),
      [
        `vipless_probe_answers_rejected_total{pair="apart",member="sip:10.1.0.11:5060"} ${forged}`,
      ],
    );
  });

  it("over TCP an answer counts from the probed member's host, and from no other", async () => {
    const g = new Glue();
    g.silent.add("10.0.0.1");
    const probeOf = () => g.probes().find((p) => p.to.host === "10.0.0.1" && p.to.port === 5070);
    for (let t = 0; t < 1_500 && !probeOf(); t += 5) await g.run(5);
    const probe = probeOf()!;
    assert.ok(probe, "the backup of 'shared' was probed");
    g.answer(probe, { transport: "tcp", host: "192.0.2.66", port: 40_000, outbound: false });
    assert.equal(g.member("shared", "backup").status, "unknown");
    // The member answered on a new connection of its own (RFC 3261 §18.2.2).
    g.answer(probe, { transport: "tcp", host: "10.0.0.1", port: 40_001, outbound: false });
    assert.equal(g.member("shared", "backup").status, "up");
  });
});

describe("sip-core: what vipless generates cannot be guessed (RFC 3261 §8.1.1.7, §19.3)", () => {
  it("probes carry random branches, From tags and Call-IDs, never repeated", async () => {
    const g = new Glue();
    await g.run(3_000);
    const probes = g.probes();
    assert.ok(probes.length >= 12, `${probes.length} probes`);
    const field = (re: RegExp, header: string) =>
      probes.map((p) => re.exec(p.msg.get(header) ?? "")?.[1]);
    const branches = field(/branch=(z9hG4bKvp[0-9a-f]{16})(?:;|$)/, "via");
    const tags = field(/;tag=([0-9a-f]{8})$/, "from");
    const callIds = field(/^(probe-[0-9a-f]{24}@vipless)$/, "call-id");
    for (const values of [branches, tags, callIds]) {
      assert.ok(values.every((v) => v !== undefined), JSON.stringify(values.slice(0, 3)));
      assert.equal(new Set(values).size, probes.length);
    }
  });

  it("a forwarded request's branch and vipless's own answers' To tags are random; a 100 has none", async () => {
    const g = new Glue();
    await g.run(1_500);
    const mark = g.out.length;
    const from = { transport: "udp", host: "192.0.2.1", port: 5062 } as const;
    g.receive(invite("sip:bob@example.com", "SIP/2.0/UDP 192.0.2.1:5062"), from);
    g.receive(invite("sip:bob@example.com", "SIP/2.0/UDP 192.0.2.1:5062"), from);
    const [a, b] = g.forwarded(mark).map((o) => o.msg.get("via")!);
    const ours = /branch=z9hG4bKvl[0-9a-f]{8}\.[0-9a-z]{4}\.([0-9a-f]{16})/;
    assert.match(a, ours);
    assert.notEqual(ours.exec(a)![1], ours.exec(b)![1]);
    await g.run(TRYING_DELAY_MS); // the members are silent: vipless sends its 100s
    const trying = g.out.slice(mark).filter((o) => o.msg.status === 100);
    assert.equal(trying.length, 2);
    for (const t of trying) assert.doesNotMatch(t.msg.get("to")!, /;tag=/);
    // With the served pair out of service vipless answers 503 itself, through the
    // transaction: a To tag of its own, fresh each time.
    g.silent.add("10.0.0.1");
    await g.run(6_000);
    assert.equal(g.activeRole("shared"), null);
    const mark2 = g.out.length;
    g.receive(invite("sip:bob@example.com", "SIP/2.0/UDP 192.0.2.1:5062"), from);
    g.receive(invite("sip:bob@example.com", "SIP/2.0/UDP 192.0.2.1:5062"), from);
    const finals = g.out.slice(mark2).filter((o) => o.msg.status === 503);
    const toTags = finals.map((o) => /;tag=vl([0-9a-f]{12})$/.exec(o.msg.get("to")!)?.[1]);
    assert.equal(toTags.length, 2);
    assert.ok(toTags.every((t) => t !== undefined), JSON.stringify(toTags));
    assert.notEqual(toTags[0], toTags[1]);
  });
});
