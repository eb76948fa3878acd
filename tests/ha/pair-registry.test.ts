import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import type { HaEvent } from "../../src/ha/types.ts";
import { answers, config, member, silent, Sim, SITE_A, SITE_B, T0 } from "./harness.ts";

const P = SITE_A.primary.uri;
const B = SITE_A.backup.uri;

/** A sender as the transport sees it: a datagram's source, or a TCP peer. */
const udp = (host: string, port: number) => ({ transport: "udp", host, port });
const tcp = (host: string, port: number, outbound = false) => ({
  transport: "tcp",
  host,
  port,
  outbound,
});

/** A sim in which both members of site-a have answered at least once. */
function warmSim(cfg = config()): Sim {
  const sim = new Sim(cfg);
  sim.runFor(1500);
  const up = sim.eventsOf("member-up").map((e) => (e as { member: string }).member);
  assert.ok(up.includes(P) && up.includes(B), "both members came up");
  return sim;
}

describe("PairRegistry: locating members", () => {
  const ha = new PairRegistry(
    config({}, [SITE_A, SITE_B, {
      name: "v6",
      primary: member("2001:db8::11"),
      backup: member("2001:db8::12", 5070),
    }]),
    { now: T0 },
  );

  it("finds a member by host and port, with the port defaulting to 5060", () => {
    assert.deepEqual(ha.memberAt("10.0.0.12", 5060), {
      pair: "site-a",
      role: "backup",
      member: SITE_A.backup,
    });
    assert.equal(ha.memberAt("10.1.0.11")?.pair, "site-b");
    assert.equal(ha.memberAt("10.0.0.12", 5070), null);
    assert.equal(ha.memberAt("10.9.9.9", 5060), null);
  });

  it("normalises IPv6 hosts and IPv4-mapped source addresses", () => {
    assert.equal(ha.memberAt("[2001:DB8:0::11]", 5060)?.role, "primary");
    assert.equal(ha.memberAt("2001:db8::12", 5070)?.pair, "v6");
    assert.equal(ha.memberAt("::ffff:10.0.0.11", 5060)?.role, "primary");
  });

  it("over TCP attributes an ephemeral port to the only member on that IP; over UDP never", () => {
    assert.equal(ha.identify(tcp("10.1.0.12", 41234))?.member?.role, "backup");
    assert.equal(ha.identify(udp("10.1.0.12", 41234)), null, "a datagram comes from its socket");
    assert.equal(ha.identify(udp("10.1.0.12", 5060))?.member?.role, "backup");
    assert.equal(ha.memberAt("10.1.0.12", 41234), null, "memberAt stays exact");
    assert.equal(ha.identify(tcp("192.0.2.1", 5060)), null);
  });

  it("where several members share an IP, only a connection vipless opened names one", () => {
    const shared = new PairRegistry(
      config({}, [{
        name: "local",
        primary: member("127.0.0.1", 5071),
        backup: member("127.0.0.1", 5072),
      }]),
      { now: T0 },
    );
    assert.equal(shared.identify(udp("127.0.0.1", 5072))?.member?.role, "backup");
    assert.equal(shared.identify(udp("127.0.0.1", 40000)), null);
    assert.equal(shared.identify(tcp("127.0.0.1", 5072, true))?.member?.role, "backup");
    // The peer port of a connection it opened is ephemeral, even when it equals a
    // member's. Claiming (in its Via) to be one of the members there makes it a member
    // host, no member in particular; claiming to be itself leaves it an endpoint.
    const claiming = (port: number, claimed: number) => ({
      ...tcp("127.0.0.1", port),
      claimed: { host: "127.0.0.1", port: claimed },
    });
    assert.deepEqual(shared.identify(claiming(5072, 5072)), { member: null });
    assert.deepEqual(shared.identify(claiming(40000, 5071)), { member: null });
    assert.equal(shared.identify(claiming(40000, 40000)), null);
    assert.equal(shared.identify(tcp("127.0.0.1", 40000)), null);
    // Where one member has the IP, the claim changes nothing: the IP names it.
    assert.equal(
      ha.identify({ ...tcp("10.1.0.12", 40000), claimed: null })?.member?.role,
      "backup",
    );
  });

  it("knows a member configured by name by the address the glue learnt for it", () => {
    const named = new PairRegistry(
      config({}, [{ name: "dns", primary: member("pbx-a.test"), backup: member("pbx-b.test") }]),
      { now: T0 },
    );
    assert.equal(named.identify(udp("10.3.0.2", 5060)), null);
    named.learnAddress("pbx-b.test", "10.3.0.2");
    assert.equal(named.identify(udp("10.3.0.2", 5060))?.member?.role, "backup");
    assert.equal(named.memberAt("pbx-b.test", 5060)?.role, "backup");
    named.learnAddress("pbx-b.test", "10.3.0.9"); // it moved
    assert.equal(named.identify(udp("10.3.0.2", 5060)), null);
    assert.equal(named.identify(udp("10.3.0.9", 5060))?.member?.role, "backup");
  });
});

describe("PairRegistry: next hops and service", () => {
  it("at start the primary is active and both members are next hops", () => {
    const ha = new PairRegistry(config(), { now: T0 });
    assert.equal(ha.pairState("site-a"), "active-primary");
    assert.equal(ha.isInService("site-a"), true);
    assert.deepEqual(ha.nextHops("site-a"), [SITE_A.primary, SITE_A.backup]);
    assert.deepEqual(ha.activeMember("site-a"), SITE_A.primary);
  });

  it("leaves out the other member once it is known down", () => {
    const sim = warmSim();
    sim.set(B, silent);
    assert.ok(sim.runUntilEvent((e) => e.type === "member-down" && e.member === B, 5000));
    assert.deepEqual(sim.ha.nextHops("site-a"), [SITE_A.primary]);
    assert.equal(
      sim.ha.pairState("site-a"),
      "active-primary",
      "the backup going down changes nothing",
    );
  });

  it("has no next hops and is not in service for an unknown pair", () => {
    const ha = new PairRegistry(config(), { now: T0 });
    assert.deepEqual(ha.nextHops("nope"), []);
    assert.equal(ha.isInService("nope"), false);
    assert.equal(ha.pairState("nope"), null);
  });

  it("counts a 503 answer as a miss", () => {
    const sim = warmSim();
    sim.set(P, answers(503));
    const down = sim.runUntilEvent((e) => e.type === "member-down", 5000);
    assert.deepEqual(down && { ...down, at: 0 }, {
      type: "member-down",
      pair: "site-a",
      member: P,
      role: "primary",
      cause: "bad-status",
      at: 0,
    });
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
  });

  it("counts transport errors as misses", () => {
    const sim = warmSim();
    sim.set(P, () => "error");
    const down = sim.runUntilEvent((e) => e.type === "member-down", 5000);
    assert.equal(down?.type === "member-down" && down.cause, "transport-error");
  });
});

describe("PairRegistry: traffic from the member that is not active", () => {
  it("an INVITE from the backup makes it active at once", () => {
    const sim = warmSim();
    const origin = sim.ha.onRequestFrom(udp("10.0.0.12", 5060), "INVITE", sim.now);
    assert.deepEqual(origin, {
      pair: "site-a",
      role: "backup",
      member: SITE_A.backup,
      switched: true,
    });
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    assert.deepEqual(sim.ha.nextHops("site-a"), [SITE_A.backup, SITE_A.primary]);
    const last = sim.events.at(-1);
    assert.deepEqual(last, {
      type: "switchover",
      pair: "site-a",
      from: P,
      to: B,
      reason: "traffic-from-backup",
      at: sim.now,
    });
  });

  it("OPTIONS from the backup never switch", () => {
    const sim = warmSim();
    const before = sim.events.length;
    for (const method of ["OPTIONS", "options"]) {
      const origin = sim.ha.onRequestFrom(udp("10.0.0.12", 5060), method, sim.now);
      assert.equal(origin?.switched, false);
    }
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
    assert.equal(sim.events.length, before);
  });

  it("requests from the active member or from strangers change nothing", () => {
    const sim = warmSim();
    assert.equal(sim.ha.onRequestFrom(udp("10.0.0.11", 5060), "BYE", sim.now)?.switched, false);
    assert.equal(sim.ha.onRequestFrom(udp("192.0.2.1", 5060), "INVITE", sim.now), null);
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
  });

  it("after a switch, a request from the old primary switches back to it", () => {
    const sim = warmSim();
    sim.ha.onRequestFrom(udp("10.0.0.12", 5060), "INVITE", sim.now);
    const origin = sim.ha.onRequestFrom(udp("10.0.0.11", 5060), "BYE", sim.now + 1);
    assert.equal(origin?.switched, true);
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
  });

  it("a request over TCP from the backup's ephemeral port switches too", () => {
    const sim = new Sim(config({}, [SITE_B]));
    sim.runFor(1500);
    assert.equal(
      sim.ha.onRequestFrom(tcp("10.1.0.12", 50123), "REGISTER", sim.now)?.switched,
      true,
    );
    assert.equal(sim.ha.pairState("site-b"), "active-backup");
  });

  it("a request from a member believed down proves it alive before it becomes active", () => {
    const sim = warmSim();
    sim.set(B, silent);
    sim.runUntilEvent((e) => e.type === "member-down" && e.member === B, 5000);
    const from = sim.events.length;
    sim.ha.onRequestFrom(udp("10.0.0.12", 5060), "INVITE", sim.now);
    assert.deepEqual(sim.events.slice(from).map((e) => e.type), ["member-up", "switchover"]);
    assert.deepEqual(sim.ha.nextHops("site-a"), [SITE_A.backup, SITE_A.primary]);
  });
});

describe("PairRegistry: forward failure", () => {
  it("probes the failed member at once and keeps it active when the probe answers", () => {
    const sim = warmSim();
    const t = sim.now;
    assert.equal(sim.ha.onForwardFailure(SITE_A.primary, t), true);
    assert.equal(sim.ha.snapshot(t).pairs[0].members[0].suspect, true);
    assert.equal(sim.ha.nextProbeDeadline(), t, "the glue is asked to probe now");
    sim.runFor(100);
    assert.deepEqual(sim.sentTo(P, t, t), [t]);
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
    assert.equal(sim.ha.snapshot(sim.now).pairs[0].members[0].suspect, false);
  });

  it("switches as soon as the suspect probe misses, with reason forward-failure", () => {
    const sim = warmSim();
    const t = sim.now;
    sim.set(P, silent);
    sim.ha.onForwardFailure(SITE_A.primary, t);
    const s = sim.runUntilEvent((e) => e.type === "switchover", 5000);
    assert.equal(s?.type === "switchover" && s.reason, "forward-failure");
    assert.ok(s!.at <= t + 500, "one probe timeout, not probe.failures misses");
  });

  it("with the other member down, a forward failure shortens nothing: probe.failures misses decide", () => {
    const sim = warmSim();
    sim.set(B, silent);
    sim.runUntilEvent((e) => e.type === "member-down" && e.member === B, 5000);
    sim.set(P, silent);
    const t = sim.now;
    sim.ha.onForwardFailure(SITE_A.primary, t);
    // The suspect probe misses (one probe timeout): the pair stays in service.
    sim.runFor(600);
    assert.equal(sim.ha.snapshot(sim.now).pairs[0].members[0].consecutiveFailures, 1);
    assert.deepEqual(sim.ha.nextHops("site-a").length > 0, true, "still in service");
    const e = sim.runUntilEvent((x) => x.type === "pair-out-of-service", 5000);
    assert.deepEqual(e && { ...e, at: 0 }, {
      type: "pair-out-of-service",
      pair: "site-a",
      from: P,
      reason: "probe-timeout",
      at: 0,
    });
    assert.equal(sim.ha.snapshot(sim.now).pairs[0].members[0].consecutiveFailures, 2);
    assert.deepEqual(sim.ha.nextHops("site-a"), []);
  });

  it("returns false for an address that is no member", () => {
    const ha = new PairRegistry(config(), { now: T0 });
    assert.equal(ha.onForwardFailure({ host: "192.0.2.1", port: 5060 }, T0), false);
  });
});

describe("PairRegistry: manual switchover", () => {
  it("switches to the other member", () => {
    const sim = warmSim();
    const r = sim.ha.switchover("site-a", {}, sim.now);
    assert.deepEqual(r, { ok: true, pair: "site-a", from: P, to: B, changed: true });
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    const e = sim.events.at(-1);
    assert.equal(e?.type === "switchover" && e.reason, "manual");
  });

  it("reports no change when the requested member is already active", () => {
    const sim = warmSim();
    const r = sim.ha.switchover("site-a", { to: "primary" }, sim.now);
    assert.deepEqual(r, { ok: true, pair: "site-a", from: P, to: P, changed: false });
  });

  it("refuses when the other member is down, unless forced", () => {
    const sim = warmSim();
    sim.set(B, silent);
    sim.runUntilEvent((e) => e.type === "member-down" && e.member === B, 5000);
    const refused = sim.ha.switchover("site-a", {}, sim.now);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error.code, "other-down");
    assert.equal(sim.ha.pairState("site-a"), "active-primary");

    const forced = sim.ha.switchover("site-a", { force: true }, sim.now);
    assert.equal(forced.ok, true);
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    assert.equal(sim.ha.snapshot(sim.now).pairs[0].members[1].status, "unknown");
  });

  it("a forced switch to a dead member holds until probe.failures fresh misses", () => {
    const sim = warmSim();
    sim.set(B, silent);
    sim.runUntilEvent((e) => e.type === "member-down" && e.member === B, 5000);
    sim.ha.switchover("site-a", { force: true }, sim.now);
    const forcedAt = sim.now;
    const back = sim.runUntilEvent((e) => e.type === "switchover" && e.to === P, 10_000);
    assert.equal(back?.type === "switchover" && back.reason, "probe-timeout");
    assert.ok(back!.at - forcedAt >= 1000, "not undone by the next probe alone");
  });

  it("rejects an unknown pair", () => {
    const ha = new PairRegistry(config(), { now: T0 });
    const r = ha.switchover("nope", { force: true }, T0);
    assert.equal(!r.ok && r.error.code, "unknown-pair");
  });
});

describe("PairRegistry: events and counters", () => {
  it("delivers events to every listener even if one throws, and stops after unsubscribe", () => {
    const seen: HaEvent[] = [];
    const ha = new PairRegistry(config(), {
      now: T0,
      onEvent: () => {
        throw new Error("broken sink");
      },
    });
    const off = ha.onEvent((e) => seen.push(e));
    ha.switchover("site-a", {}, T0);
    assert.equal(seen.length, 1);
    assert.equal(ha.pairState("site-a"), "active-backup");
    off();
    ha.switchover("site-a", {}, T0 + 1);
    assert.equal(seen.length, 1);
  });

  it("counts switchovers by pair and reason, and probe results and RTTs by member", () => {
    const sim = warmSim();
    sim.ha.switchover("site-a", {}, sim.now);
    sim.ha.switchover("site-a", {}, sim.now);
    sim.ha.onRequestFrom(udp("10.0.0.12", 5060), "INVITE", sim.now);
    assert.deepEqual(sim.ha.switchoverCounts().filter((c) => c.count > 0), [
      { pair: "site-a", reason: "traffic-from-backup", count: 1 },
      { pair: "site-a", reason: "manual", count: 2 },
    ]);
    const rtt = sim.ha.probeRtt().find((r) => r.member === P)!;
    assert.ok(rtt.histogram.count >= 1);
    assert.ok(Math.abs(rtt.histogram.sum - 0.02 * rtt.histogram.count) < 1e-9, "20 ms each");
    const ok = sim.ha.probeResults().find((r) => r.member === P && r.result === "ok");
    assert.equal(ok?.count, rtt.histogram.count);
  });

  it("rejects probe settings that cannot work", () => {
    assert.throws(() => new PairRegistry(config({ failures: 0 }), { now: T0 }), /failures/);
    assert.throws(() => new PairRegistry(config({ interval: 0 }), { now: T0 }), /interval/);
    assert.throws(
      () => new PairRegistry(config({ up_codes: [{ from: 500, to: 400 }] }), { now: T0 }),
      /up_codes/,
    );
  });
});
