/**
 * Pair members named by DNS name (RFC 3263), against dnsmasq on loopback: the primary
 * `sip:pbx-a.test` is found by NAPTR → SRV (two servers, by priority), the backup
 * `sip:pbx-b.test;transport=udp` by SRV. /status shows each name and its targets; calls
 * and probes go to the first target; when it dies, the member moves to its next target
 * and calls still reach the primary member, without a switchover to the backup. A
 * member whose name resolves to nothing is reported (log, /status, /metrics) and down.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { dnsmasqMissing, type DnsServer, startDnsmasq } from "../support/dnsmasq.ts";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { TestUa } from "../support/test-ua.ts";
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
    dns = await startDnsmasq({
      ttl: 60,
      hosts: { "a1.test": ["127.0.0.1"], "a2.test": ["127.0.0.1"], "b1.test": ["127.0.0.1"] },
      naptr: [["pbx-a.test", 10, 50, "s", "SIP+D2U", "_sip._udp.pbx-a.test"]],
      srv: [
        ["_sip._udp.pbx-a.test", "a1.test", a1.address.port, 10, 0],
        ["_sip._udp.pbx-a.test", "a2.test", a2.address.port, 20, 0],
        ["_sip._udp.pbx-b.test", "b1.test", b1.address.port, 10, 0],
        ["_sip._udp.pbx-c.test", "a1.test", c1.address.port, 10, 0],
        ["_sip._udp.carrier.test", "b1.test", carrier.address.port, 10, 0],
        ["_sip._udp.pbx-c.test", "a2.test", c2.address.port, 20, 0],
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
