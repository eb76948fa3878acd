/**
 * Pair members named by DNS name (RFC 3263), against dnsmasq on loopback: the primary
 * `sip:pbx-a.test` is found by NAPTR → SRV (two servers, by priority), the backup
 * `sip:pbx-b.test;transport=udp` by SRV. /status shows each name and its targets; calls
 * and probes go to the first target; when it dies, the member moves to its next target
 * and calls still reach the primary member, without a switchover to the backup. A
 * member whose name resolves to nothing is reported (log, /status, /metrics) and down.
 *
 * Outbound: a member's call to a carrier named without a port is located the same way
 * (NAPTR → SRV → A), and each SRV target is a next hop: a dead first target (failover
 * timeout) or one that answers 503 passes the call to the second; a NAPTR that selects
 * TCP sends it over TCP; a name that resolves to nothing gets 404 and leaves nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dnsmasqMissing, type DnsServer, startDnsmasq } from "../support/dnsmasq.ts";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { TestUa } from "../support/test-ua.ts";
import { freePort } from "../support/vipless-process.ts";
import {
  CALLEE,
  Cleanup,
  type LogEvent,
  PROBE,
  RUNTIME,
  TEST_TIMEOUT_MS,
  Vipless,
  waitUntil,
} from "./harness.ts";

const missing = dnsmasqMissing();
if (missing) console.log(`tests/ha-integration/dns-members: skipped: ${missing}`);

interface DnsStatus {
  name: string;
  targets: string[];
  current: string | null;
  error: string | null;
}

async function startNamed(dnsPort: number, backupName: string, primaryName = "sip:pbx-a.test") {
  const { vip } = await Vipless.startWith(`failover: { timeout: 500ms }
dns: { servers: ["127.0.0.1:${dnsPort}"] }
pairs:
  - name: site-a
    primary: ${primaryName}
    backup: ${backupName}
log: { level: debug, format: json }
`);
  return vip;
}

describe(`members named by DNS name (${RUNTIME})`, { skip: missing ?? false }, () => {
  let dns: DnsServer;
  const c = new Cleanup();
  let a1: FakeSipServer, a2: FakeSipServer, b1: FakeSipServer;
  let c1: FakeSipServer, c2: FakeSipServer, carrier: FakeSipServer;
  /** Outbound: a carrier that refuses with 503, the one that takes calls, one over TCP. */
  let busy: FakeSipServer, carrier2: FakeSipServer, tcpCarrier: FakeSipServer;
  before(async () => {
    [a1, a2, b1] = c.peersOf(
      await Promise.all(
        ["a1", "a2", "b1"].map((name) => FakeSipServer.start({ transport: "udp", name })),
      ),
    );
    // c1 is alive (it answers probes) but refuses calls with 503.
    c1 = c.peer(
      await FakeSipServer.start({ transport: "udp", name: "c1", answer: { final: 503 } }),
    );
    c2 = c.peer(await FakeSipServer.start({ transport: "udp", name: "c2" }));
    carrier = c.peer(await FakeSipServer.start({ transport: "udp", name: "carrier" }));
    busy = c.peer(
      await FakeSipServer.start({ transport: "udp", name: "busy", answer: { final: 503 } }),
    );
    carrier2 = c.peer(await FakeSipServer.start({ transport: "udp", name: "carrier2" }));
    tcpCarrier = c.peer(await FakeSipServer.start({ transport: "tcp", name: "tcpcarrier" }));
    // No one listens there: a dead carrier server.
    const deadPort = await freePort("udp");
    dns = await startDnsmasq({
      ttl: 60,
      hosts: { "a1.test": ["127.0.0.1"], "a2.test": ["127.0.0.1"], "b1.test": ["127.0.0.1"] },
      naptr: [
        ["pbx-a.test", 10, 50, "s", "SIP+D2U", "_sip._udp.pbx-a.test"],
        ["tcp-carrier.test", 10, 50, "s", "SIP+D2T", "_sip._tcp.tcp-carrier.test"],
      ],
      srv: [
        ["_sip._udp.pbx-a.test", "a1.test", a1.address.port, 10, 0],
        ["_sip._udp.pbx-a.test", "a2.test", a2.address.port, 20, 0],
        ["_sip._udp.pbx-b.test", "b1.test", b1.address.port, 10, 0],
        ["_sip._udp.pbx-c.test", "a1.test", c1.address.port, 10, 0],
        ["_sip._udp.carrier.test", "b1.test", carrier.address.port, 10, 0],
        ["_sip._udp.pbx-c.test", "a2.test", c2.address.port, 20, 0],
        ["_sip._udp.dead-carrier.test", "a1.test", deadPort, 10, 0],
        ["_sip._udp.dead-carrier.test", "a2.test", carrier2.address.port, 20, 0],
        ["_sip._udp.busy-carrier.test", "a1.test", busy.address.port, 10, 0],
        ["_sip._udp.busy-carrier.test", "a2.test", carrier2.address.port, 20, 0],
        ["_sip._tcp.tcp-carrier.test", "b1.test", tcpCarrier.address.port, 10, 0],
      ],
    });
  });
  after(async () => {
    await c.run();
    await dns?.stop();
  });

  it(
    "finds members by NAPTR and SRV, shows them in /status, and moves to the next target when one dies",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    async () => {
      const vip = c.vipless(await startNamed(dns.port, "sip:pbx-b.test;transport=udp"));
      const ua = c.peer(await TestUa.start({ transport: "udp" }));
      await vip.waitAllUp(["site-a"]);
      const status = await vip.pair("site-a") as unknown as {
        members: Array<{ role: string; dns?: DnsStatus }>;
      };
      const primary = status.members.find((m) => m.role === "primary")!.dns!;
      assert.equal(primary.name, "pbx-a.test");
      assert.deepEqual(primary.targets, [
        `udp:127.0.0.1:${a1.address.port}`,
        `udp:127.0.0.1:${a2.address.port}`,
      ]);
      assert.equal(primary.current, `udp:127.0.0.1:${a1.address.port}`);
      assert.equal(
        status.members.find((m) => m.role === "backup")!.dns!.current,
        `udp:127.0.0.1:${b1.address.port}`,
      );
      assert.ok(a1.requests("OPTIONS").length > 0, "the first target is probed");

      assert.equal((await ua.call(vip.sip, { to: CALLEE })).status, 200);
      assert.equal(a1.requests("INVITE").length, 1);

      const mark = vip.events().length;
      a1.stop();
      // A call while a1 is dead: the failover timer moves it on; the member's next
      // target (a2) takes the member's traffic from then on.
      const during = await ua.call(vip.sip, { to: CALLEE });
      assert.equal(during.status, 200);
      await waitUntil(
        async () => {
          const p = await vip.pair("site-a") as unknown as {
            members: Array<{ role: string; dns?: DnsStatus }>;
          };
          return p.members.find((m) => m.role === "primary")!.dns!.current ===
            `udp:127.0.0.1:${a2.address.port}`;
        },
        10_000,
        "the primary member's traffic on a2",
        () => vip.proc.output(),
      );
      const next = await ua.call(vip.sip, { to: CALLEE });
      assert.equal(next.status, 200);
      assert.ok(a2.requests("INVITE").length >= 1, "calls reach the primary member's next server");
      // A next probe goes where the traffic goes: within a few intervals (one probe to
      // the dead a1 may still be in flight, and a loaded machine delays the rest).
      await waitUntil(
        () => a2.requests("OPTIONS").length > 0,
        6 * PROBE.intervalMs,
        "probes follow the traffic to a2",
      );
      const located = vip.events().slice(mark).filter((e: LogEvent) =>
        e.event === "member-located"
      );
      assert.ok(located.some((e) => e.target === `udp:127.0.0.1:${a2.address.port}`));
    },
  );

  it("a member's request to a target named without a port goes where its SRV says", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const vip = c.vipless(await startNamed(dns.port, "sip:pbx-b.test"));
    await vip.waitAllUp(["site-a"]);
    // From the backup member's own socket: an outbound call to a carrier by name.
    const out = b1.request(vip.sip, "OPTIONS", { uri: "sip:+15550100@carrier.test" });
    assert.equal((await out.result).status, 200);
    assert.equal(
      carrier.requests("OPTIONS").filter((r) => /carrier\.test/.test(r.msg.uri)).length,
      1,
    );
  });

  it(
    "outbound by SRV: a dead first target or its 503 passes the call to the second (RFC 3263 §4.3)",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    async () => {
      const vip = c.vipless(await startNamed(dns.port, "sip:pbx-b.test"));
      await vip.waitAllUp(["site-a"]);
      const call = (uri: string) => b1.invite(vip.sip, { uri, timeoutMs: 10_000 }).result;
      // (a) Priority 10 has no listener: after failover.timeout (or the transport's error)
      // the call goes to priority 20.
      const started = Date.now();
      const dead = await call("sip:+15550100@dead-carrier.test");
      assert.equal(dead.status, 200);
      assert.ok(Date.now() - started < 5_000, "well before Timer B");
      const reached = carrier2.requests("INVITE");
      assert.equal(reached.length, 1);
      assert.equal(reached[0]!.msg.uri, "sip:+15550100@dead-carrier.test", "Request-URI kept");
      // (b) Priority 10 answers 503: at once to priority 20; the 503 does not go up.
      const refused = await call("sip:+15550101@busy-carrier.test");
      assert.equal(refused.status, 200);
      assert.deepEqual(refused.responses.filter((r) => r.status >= 300).map((r) => r.status), []);
      assert.equal(busy.requests("INVITE").length, 1);
      assert.equal(carrier2.requests("INVITE").length, 2);
      // The carrier's 503 was ACKed by vipless (hop by hop), on the branch it answered.
      await waitUntil(() => busy.requests("ACK").length === 1, 5_000, "the 503 ACKed");
    },
  );

  it("outbound by NAPTR: SIP+D2T sends the call over TCP", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const vip = c.vipless(await startNamed(dns.port, "sip:pbx-b.test"));
    await vip.waitAllUp(["site-a"]);
    const r = await b1.invite(vip.sip, { uri: "sip:+15550102@tcp-carrier.test", timeoutMs: 10_000 })
      .result;
    assert.equal(r.status, 200);
    const [got] = tcpCarrier.requests("INVITE");
    assert.ok(got, "the TCP carrier got the INVITE");
    assert.equal(got.transport, "tcp");
    assert.match(got.msg.get("via") ?? "", /^SIP\/2\.0\/TCP /);
  });

  it("outbound to a name that resolves to nothing: 404 at once, nothing left waiting", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const vip = c.vipless(await startNamed(dns.port, "sip:pbx-b.test"));
    await vip.waitAllUp(["site-a"]);
    const r = await b1.invite(vip.sip, {
      uri: "sip:+15550103@no-such-carrier.test",
      timeoutMs: 10_000,
    })
      .result;
    assert.equal(r.status, 404);
    const metrics = await (await vip.http("/metrics")).text();
    assert.match(metrics, /^vipless_dns_parked_requests 0$/m);
    assert.match(metrics, /^vipless_overload_rejections_total\{reason="dns-parked"\} 0$/m);
    // Asked again within the negative TTL: the same answer, from the cache.
    const again = await b1.invite(vip.sip, {
      uri: "sip:+15550104@no-such-carrier.test",
      timeoutMs: 10_000,
    }).result;
    assert.equal(again.status, 404);
  });

  it("a 503 from the member's first target moves it to the next (RFC 3263 §4.3)", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const vip = c.vipless(await startNamed(dns.port, "sip:pbx-b.test", "sip:pbx-c.test"));
    const ua = c.peer(await TestUa.start({ transport: "udp" }));
    await vip.waitAllUp(["site-a"]);
    // The first call: c1 says 503, the proxy tries the pair's next hop (the backup).
    assert.equal((await ua.call(vip.sip, { to: CALLEE })).status, 200);
    assert.equal(c1.requests("INVITE").length, 1);
    // The member moved to c2: the next call reaches the primary member there.
    assert.equal((await ua.call(vip.sip, { to: CALLEE })).status, 200);
    assert.equal(c2.requests("INVITE").length, 1);
    assert.equal(c1.requests("INVITE").length, 1);
  });

  it("a name that resolves to nothing: reported at start, in /status and /metrics, and down", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const vip = c.vipless(await startNamed(dns.port, "sip:nowhere.test"));
    await vip.waitForEvent({ event: "member-unresolved", name: "nowhere.test" }, 10_000);
    await waitUntil(
      async () => {
        const p = await vip.pair("site-a");
        return p.members.find((m) => m.role === "backup")?.status === "down";
      },
      10_000,
      "the unresolved backup down",
      () => vip.proc.output(),
    );
    const p = await vip.pair("site-a") as unknown as {
      members: Array<{ role: string; dns?: DnsStatus }>;
    };
    const backup = p.members.find((m) => m.role === "backup")!.dns!;
    assert.deepEqual(backup.targets, []);
    assert.match(backup.error ?? "", /nowhere\.test resolves to no target/);
    const metrics = await (await vip.http("/metrics")).text();
    assert.match(metrics, /vipless_member_unresolved\{pair="site-a",role="backup"\} 1/);
    assert.match(metrics, /vipless_member_unresolved\{pair="site-a",role="primary"\} 0/);
  });
});
