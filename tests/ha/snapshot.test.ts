import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HISTORY_LIMIT } from "../../src/ha/pair-machine.ts";
import { config, Sim, SITE_A, SITE_B, T0 } from "./harness.ts";

describe("status snapshot", () => {
  it("describes every pair and member as plain JSON", () => {
    const sim = new Sim(config({}, [SITE_A, SITE_B]));
    sim.runFor(1500);
    sim.ha.switchover("site-b", {}, T0 + 1500);
    const snap = sim.ha.snapshot(T0 + 2000);
    assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap, "survives JSON unchanged");
    assert.equal(snap.at, "2024-01-01T12:00:02.000Z");
    assert.equal(snap.switchoverCount, 1);
    assert.deepEqual(snap.pairs.map((p) => [p.name, p.state, p.active, p.inService]), [
      ["site-a", "active-primary", SITE_A.primary.uri, true],
      ["site-b", "active-backup", SITE_B.backup.uri, true],
    ]);

    const a = snap.pairs[0];
    assert.equal(a.activeRole, "primary");
    assert.equal(a.since, "2024-01-01T12:00:00.000Z");
    assert.deepEqual(a.switchovers, []);
    const [primary, backup] = a.members;
    assert.deepEqual(Object.keys(primary).sort(), [
      "active",
      "consecutiveFailures",
      "lastAnswerAt",
      "lastProbeAt",
      "lastStatusCode",
      "maintenance",
      "role",
      "rttMs",
      "status",
      "suspect",
      "up",
      "uri",
    ]);
    assert.equal(primary.uri, SITE_A.primary.uri);
    assert.equal(primary.role, "primary");
    assert.equal(primary.active, true);
    assert.equal(primary.up, true);
    assert.equal(primary.status, "up");
    assert.equal(primary.rttMs, 20);
    assert.equal(primary.lastStatusCode, 200);
    assert.equal(primary.consecutiveFailures, 0);
    assert.match(primary.lastProbeAt!, /^2024-01-01T12:00:0\d\.\d{3}Z$/);
    assert.equal(backup.active, false);

    const b = snap.pairs[1];
    assert.equal(b.switchoverCount, 1);
    assert.deepEqual(b.switchovers, [{
      at: "2024-01-01T12:00:01.500Z",
      from: SITE_B.primary.uri,
      to: SITE_B.backup.uri,
      fromRole: "primary",
      toRole: "backup",
      reason: "manual",
    }]);
  });

  it("shows members that have not been probed yet as unknown", () => {
    const sim = new Sim(config());
    const [primary] = sim.ha.snapshot(T0).pairs[0].members;
    assert.equal(primary.status, "unknown");
    assert.equal(primary.up, null);
    assert.equal(primary.lastProbeAt, null);
    assert.equal(primary.rttMs, null);
  });

  it("keeps only the last 20 switchovers but counts them all", () => {
    const sim = new Sim(config());
    sim.runFor(1500);
    for (let i = 0; i < 25; i++) sim.ha.switchover("site-a", {}, sim.now + i);
    const pair = sim.ha.snapshot(sim.now + 100).pairs[0];
    assert.equal(pair.switchoverCount, 25);
    assert.equal(pair.switchovers.length, HISTORY_LIMIT);
    assert.equal(pair.switchovers.at(-1)!.at, new Date(sim.now + 24).toISOString());
  });

  it("shows an out-of-service pair with no active member", () => {
    const sim = new Sim(config());
    sim.set(SITE_A.primary.uri, () => "silent");
    sim.set(SITE_A.backup.uri, () => "silent");
    sim.runUntilEvent((e) => e.type === "pair-out-of-service", 10_000);
    const pair = sim.ha.snapshot(sim.now).pairs[0];
    assert.equal(pair.state, "out-of-service");
    assert.equal(pair.active, null);
    assert.equal(pair.inService, false);
    assert.ok(pair.members.every((m) => m.up === false && !m.active));
    assert.ok(pair.members.every((m) => m.consecutiveFailures >= 2));
    assert.equal(pair.switchovers.at(-1)!.to, null);
  });
});
