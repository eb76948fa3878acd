import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HISTORY_LIMIT, PairMachine } from "../../src/ha/pair-machine.ts";

const URIS = { primary: "sip:p", backup: "sip:b" };
const fresh = () => new PairMachine(URIS, 0);

describe("PairMachine", () => {
  it("starts with the primary active", () => {
    const m = fresh();
    assert.equal(m.state, "active-primary");
    assert.equal(m.activeRole, "primary");
    assert.equal(m.switchoverCount, 0);
  });

  it("switches when the active member goes down and the other is up", () => {
    const m = fresh();
    const s = m.onMemberDown("primary", "up", "probe-timeout", 10);
    assert.deepEqual(s, {
      at: 10,
      from: "sip:p",
      to: "sip:b",
      fromRole: "primary",
      toRole: "backup",
      reason: "probe-timeout",
    });
    assert.equal(m.state, "active-backup");
    assert.equal(m.activeSince, 10);
  });

  it("goes out of service when the active member goes down and the other is not up", () => {
    for (const other of ["down", "unknown"] as const) {
      const m = fresh();
      const s = m.onMemberDown("primary", other, "probe-timeout", 10);
      assert.equal(m.state, "out-of-service");
      assert.equal(s?.to, null);
    }
  });

  it("ignores the non-active member going down", () => {
    const m = fresh();
    assert.equal(m.onMemberDown("backup", "up", "probe-timeout", 10), null);
    assert.equal(m.state, "active-primary");
  });

  it("out of service: the first member that comes up becomes active", () => {
    const m = fresh();
    m.onMemberDown("primary", "down", "probe-timeout", 10);
    const s = m.onMemberUp("backup", 20);
    assert.equal(s?.reason, "recovery");
    assert.equal(s?.from, null);
    assert.equal(m.state, "active-backup");
    assert.equal(m.onMemberUp("primary", 30), null, "the second one does not take over");
    assert.equal(m.state, "active-backup");
  });

  it("is sticky: a recovered member does not take traffic back", () => {
    const m = fresh();
    m.onMemberDown("primary", "up", "probe-timeout", 10);
    assert.equal(m.onMemberUp("primary", 20), null);
    assert.equal(m.state, "active-backup");
  });

  it("traffic from the member that is not active makes it active, from either role", () => {
    const m = fresh();
    assert.equal(m.onTrafficFrom("primary", 5), null);
    assert.equal(m.onTrafficFrom("backup", 10)?.reason, "traffic-from-backup");
    assert.equal(m.state, "active-backup");
    assert.equal(m.onTrafficFrom("primary", 20)?.toRole, "primary");
    assert.equal(m.state, "active-primary");
  });

  it("manual switchover to the active member changes nothing", () => {
    const m = fresh();
    assert.equal(m.manual("primary", 5), null);
    assert.equal(m.manual("backup", 6)?.reason, "manual");
    assert.equal(m.switchoverCount, 1);
  });

  it("keeps the last 20 changes and counts them all", () => {
    const m = fresh();
    for (let i = 1; i <= 25; i++) m.manual(i % 2 === 1 ? "backup" : "primary", i);
    assert.equal(m.switchoverCount, 25);
    assert.equal(m.history.length, HISTORY_LIMIT);
    assert.equal(m.history[0].at, 6);
    assert.equal(m.history[HISTORY_LIMIT - 1].at, 25);
  });
});
