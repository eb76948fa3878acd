import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemberHealth } from "../../src/ha/member-health.ts";

describe("MemberHealth", () => {
  it("starts unknown and goes down only after `failures` consecutive misses", () => {
    const h = new MemberHealth();
    assert.equal(h.status, "unknown");
    assert.equal(h.recordMiss(1000, "timeout", 3), null);
    assert.equal(h.recordMiss(2000, "transport-error", 3), null);
    assert.equal(h.status, "unknown");
    assert.equal(h.recordMiss(3000, "timeout", 3), "down");
    assert.equal(h.status, "down");
    assert.equal(h.consecutiveFailures, 3);
    assert.equal(h.recordMiss(4000, "timeout", 3), null, "already down: no second change");
  });

  it("one good answer brings it up and resets the miss count", () => {
    const h = new MemberHealth();
    h.recordMiss(1000, "timeout", 2);
    h.recordMiss(2000, "timeout", 2);
    assert.equal(h.recordAnswer(3000, 12, 200), "up");
    assert.equal(h.consecutiveFailures, 0);
    assert.equal(h.lastRttMs, 12);
    assert.equal(h.lastAnswerAt, 3000);
    assert.equal(h.recordAnswer(4000, 15, 200), null, "already up");
  });

  it("a miss between answers does not accumulate across them", () => {
    const h = new MemberHealth();
    h.recordAnswer(0, 1, 200);
    for (let i = 1; i <= 10; i++) {
      assert.equal(h.recordMiss(i * 2000, "timeout", 2), null);
      h.recordAnswer(i * 2000 + 1000, 1, 200);
    }
    assert.equal(h.status, "up");
  });

  it("records the status code and round trip of a bad answer", () => {
    const h = new MemberHealth();
    h.recordMiss(1000, "bad-status", 2, { statusCode: 503, rttMs: 7 });
    assert.equal(h.lastStatusCode, 503);
    assert.equal(h.lastRttMs, 7);
    assert.equal(h.lastMissCause, "bad-status");
    assert.equal(h.lastProbeAt, 1000);
    assert.equal(h.lastAnswerAt, null);
  });

  it("a suspect member is down at its next miss", () => {
    const h = new MemberHealth();
    h.recordAnswer(0, 1, 200);
    h.markSuspect();
    assert.equal(h.suspect, true);
    assert.equal(h.recordMiss(100, "timeout", 5), "down");
    assert.equal(h.downWhileSuspect, true);
    assert.equal(h.suspect, false);
  });

  it("a good answer clears the suspicion", () => {
    const h = new MemberHealth();
    h.recordAnswer(0, 1, 200);
    h.markSuspect();
    h.recordAnswer(100, 1, 200);
    assert.equal(h.suspect, false);
    assert.equal(h.recordMiss(200, "timeout", 2), null);
  });

  it("proof of life brings a down member up; a reset forgets the verdict", () => {
    const h = new MemberHealth();
    h.recordMiss(0, "timeout", 1);
    assert.equal(h.markAlive(), "up");
    h.recordMiss(1, "timeout", 1);
    h.resetToUnknown();
    assert.equal(h.status, "unknown");
    assert.equal(h.consecutiveFailures, 0);
  });
});
