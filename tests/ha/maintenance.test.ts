import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { config, member, silent, Sim, SITE_A, SITE_B } from "./harness.ts";

const P = SITE_A.primary;
const B = SITE_A.backup;

/** Both members of both pairs up. */
function warm(): Sim {
  const sim = new Sim(config({}, [SITE_A, SITE_B]));
  sim.runFor(1500);
  assert.equal(sim.ha.snapshot(sim.now).pairs[0]!.members[1]!.status, "up");
  return sim;
}

const flags = (sim: Sim, pair = "site-a") =>
  sim.ha.snapshot(sim.now).pairs.find((p) => p.name === pair)!.members.map((m) => m.maintenance);

describe("maintenance", () => {
  it("the active member in maintenance: the pair switches (reason maintenance), new dialogs skip it, in-dialog requests still reach the active member", () => {
    const sim = warm();
    const r = sim.ha.maintenance("site-a", "primary", true, false, sim.now);
    assert.deepEqual(r, {
      ok: true,
      pair: "site-a",
      role: "primary",
      member: P.uri,
      maintenance: true,
      changed: true,
    });
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    const sw = sim.eventsOf("switchover").at(-1) as { reason: string; to: string };
    assert.equal(sw.reason, "maintenance");
    assert.equal(sw.to, B.uri);
    assert.deepEqual(sim.ha.nextHops("site-a", true), [B], "no new dialog to the primary");
    assert.deepEqual(sim.ha.nextHops("site-a"), [B, P], "in-dialog: as always");
    assert.deepEqual(flags(sim), [true, false]);
    const counts = sim.ha.switchoverCounts().filter((c) => c.count > 0);
    assert.deepEqual(counts, [{ pair: "site-a", reason: "maintenance", count: 1 }]);
  });

  it("ending maintenance switches nothing back (sticky) and the member takes new dialogs again", () => {
    const sim = warm();
    sim.ha.maintenance("site-a", "primary", true, false, sim.now);
    const r = sim.ha.maintenance("site-a", "primary", false, false, sim.now);
    assert.equal(r.ok && r.changed, true);
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    assert.deepEqual(sim.ha.nextHops("site-a", true), [B, P]);
    assert.deepEqual(flags(sim), [false, false]);
    const again = sim.ha.maintenance("site-a", "primary", false, false, sim.now);
    assert.equal(again.ok && again.changed, false, "already out of maintenance");
  });

  it("requests from a member in maintenance (its calls ending) do not make it active again", () => {
    const sim = warm();
    sim.ha.maintenance("site-a", "primary", true, false, sim.now);
    const from = { transport: "udp", host: P.host, port: P.port } as const;
    const origin = sim.ha.onRequestFrom(from, "BYE", sim.now);
    assert.equal(origin?.switched, false);
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    sim.ha.maintenance("site-a", "primary", false, false, sim.now);
    assert.equal(
      sim.ha.onRequestFrom(from, "INVITE", sim.now)?.switched,
      true,
      "out of it: as before",
    );
  });

  it("the member that is not active in maintenance: no switch, and it is no failover hop for new dialogs", () => {
    const sim = warm();
    sim.ha.maintenance("site-a", "backup", true, false, sim.now);
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
    assert.deepEqual(sim.ha.nextHops("site-a", true), [P]);
    assert.deepEqual(sim.ha.nextHops("site-a"), [P, B]);
    assert.equal(sim.eventsOf("switchover").length, 0);
  });

  it("refuses the only live member unless forced; forced, new dialogs get no hop (503)", () => {
    const sim = warm();
    sim.set(B.uri, silent);
    sim.runUntilEvent((e) => e.type === "member-down" && e.member === B.uri);
    const r = sim.ha.maintenance("site-a", "primary", true, false, sim.now);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, "other-down");
    assert.deepEqual(flags(sim), [false, false], "nothing changed");
    const forced = sim.ha.maintenance("site-a", "primary", true, true, sim.now);
    assert.equal(forced.ok, true);
    assert.equal(sim.ha.pairState("site-a"), "active-primary", "no live member to switch to");
    assert.deepEqual(sim.ha.nextHops("site-a", true), []);
    assert.deepEqual(sim.ha.nextHops("site-a"), [P], "in-dialog requests still reach it");
  });

  it("answers unknown-pair for a pair that does not exist", () => {
    const sim = warm();
    const r = sim.ha.maintenance("nope", "primary", true, false, sim.now);
    assert.equal(!r.ok && r.error.code, "unknown-pair");
  });

  it("survives a reload for members that stay, also in a renamed pair or a pair that starts afresh", () => {
    const sim = warm();
    sim.ha.maintenance("site-a", "primary", true, false, sim.now);
    sim.ha.maintenance("site-b", "backup", true, false, sim.now);
    // site-a renamed (kept whole); site-b gets a new primary (a fresh pair) but keeps its backup.
    const freshB = { ...SITE_B, primary: member("10.0.1.99") };
    sim.ha.reconfigure(config({}, [{ ...SITE_A, name: "renamed" }, freshB]), sim.now);
    assert.deepEqual(flags(sim, "renamed"), [true, false]);
    assert.deepEqual(flags(sim, "site-b"), [false, true]);
    assert.deepEqual(sim.ha.nextHops("renamed", true), [B]);
    sim.ha.reconfigure(config({}, [SITE_B]), sim.now);
    sim.ha.reconfigure(config({}, [SITE_A, SITE_B]), sim.now);
    assert.deepEqual(flags(sim), [false, false], "a member removed and added again starts afresh");
  });
});
