// A member named by DNS name: its traffic goes to one target at a time, moves to the
// next when that one fails, and the list is looked up again when its TTL runs out.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DnsQuerier, DnsResult } from "../../src/dns/client.ts";
import { Locator } from "../../src/dns/locate.ts";
import { MemberTargets, type NamedMemberSpec, PASS_OVER_MS } from "../../src/dns/member-targets.ts";
import type { DnsRecord } from "../../src/dns/wire.ts";

/** A zone in memory: name|type → records; `ttl` for all. */
function zone(records: Record<string, DnsRecord[]>, ttl = 30): DnsQuerier & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    query(name: string, type: string): Promise<DnsResult> {
      asked.push(`${name} ${type}`);
      const found = records[`${name}|${type}`] ?? [];
      return Promise.resolve({ records: found, ttl: found.length ? ttl : 5 });
    },
  };
}
const srv = (name: string, target: string, port: number, priority: number): DnsRecord => ({
  type: "SRV",
  name,
  ttl: 30,
  priority,
  weight: 0,
  port,
  target,
});
const a = (name: string, address: string): DnsRecord => ({ type: "A", name, ttl: 30, address });
const spec = (host: string): NamedMemberSpec => ({
  pair: "p",
  role: "primary",
  host,
  port: 5060,
  transport: "udp",
  scheme: "sip",
  portGiven: false,
  transportGiven: false,
});
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("member targets", () => {
  const records = {
    "_sip._udp.pbx.test|SRV": [
      srv("_sip._udp.pbx.test", "a.test", 5071, 10),
      srv("_sip._udp.pbx.test", "b.test", 5072, 20),
    ],
    "a.test|A": [a("a.test", "10.0.0.1")],
    "b.test|A": [a("b.test", "10.0.0.2")],
  };

  it("sends to the first target, moves to the next on a failure, comes back after the pass-over", async () => {
    const changes: string[] = [];
    const t = new MemberTargets(new Locator(zone(records), ["udp"]), {
      onChange: (_m, target) => changes.push(target ? `${target.address}:${target.port}` : "none"),
    });
    t.configure([spec("pbx.test"), { ...spec("10.9.9.9"), role: "backup" }]);
    assert.equal(t.has("10.9.9.9", 5060), false, "an IP member is where it says");
    assert.equal(t.target("pbx.test", 5060), null, "not looked up yet");
    t.refresh(0);
    await settle();
    assert.deepEqual(t.target("pbx.test", 5060), {
      transport: "udp",
      address: "10.0.0.1",
      port: 5071,
      name: "a.test",
      srv: { priority: 10, weight: 0 },
    });
    assert.equal(t.memberAt("10.0.0.1", 5071)?.host, "pbx.test");
    t.failed("pbx.test", 5060, 1000);
    assert.equal(t.target("pbx.test", 5060)?.port, 5072);
    // A late report about the target it already left (a probe sent before the move)
    // keeps it on the live one.
    t.failed("pbx.test", 5060, 1500, { address: "10.0.0.1", port: 5071 });
    assert.equal(t.target("pbx.test", 5060)?.port, 5072);
    // Both failed: the first again rather than nothing.
    t.failed("pbx.test", 5060, 2000);
    assert.equal(t.target("pbx.test", 5060)?.port, 5071);
    assert.deepEqual(changes, ["10.0.0.1:5071", "10.0.0.2:5072", "10.0.0.1:5071"]);
    const [st] = t.status();
    assert.deepEqual(st!.targets, ["udp:10.0.0.1:5071", "udp:10.0.0.2:5072"]);
    assert.equal(st!.current, "udp:10.0.0.1:5071");
    assert.equal(PASS_OVER_MS > 2000, true);
  });

  it("looks the name up again when the TTL runs out, not before", async () => {
    const dns = zone(records, 30);
    const t = new MemberTargets(new Locator(dns, ["udp"]), { onChange() {} });
    t.configure([spec("pbx.test")]);
    t.refresh(0);
    await settle();
    const first = dns.asked.length;
    t.refresh(29_000);
    await settle();
    assert.equal(dns.asked.length, first);
    assert.equal(t.nextDue(), 30_000);
    t.refresh(30_000);
    await settle();
    assert.ok(dns.asked.length > first);
  });

  it("a name that resolves to nothing is unresolved, says why, and is asked again soon", async () => {
    const changes: Array<string | null> = [];
    const t = new MemberTargets(new Locator(zone({}), ["udp"]), {
      onChange: (_m, target) => changes.push(target && target.address),
    });
    t.configure([spec("gone.test")]);
    t.refresh(0);
    await settle();
    assert.deepEqual(t.unresolved().map((m) => m.host), ["gone.test"]);
    assert.match(t.status()[0]!.error ?? "", /gone\.test resolves to no target/);
    assert.deepEqual(changes, [null]);
    assert.ok(t.nextDue() <= 5_000);
  });
});
