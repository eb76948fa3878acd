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
    assert.equal(h.markAlive(1), "up");
    h.recordMiss(1, "timeout", 1);
    h.resetToUnknown();
    assert.equal(h.status, "unknown");
    assert.equal(h.consecutiveFailures, 0);
  });
});

describe("MemberHealth: rise and flapping (issue 11)", () => {
  it("a down member needs `rise` good answers in a row to be up again", () => {
    const h = new MemberHealth();
    assert.equal(h.recordAnswer(0, 5, 200, 2), "up", "a member never known is up at once");
    h.recordMiss(1000, "timeout", 1);
    assert.equal(h.status, "down");
    assert.equal(h.recordAnswer(2000, 5, 200, 2), null, "one answer is not enough");
    h.recordMiss(3000, "timeout", 1); // the run of answers is broken
    assert.equal(h.recordAnswer(4000, 5, 200, 2), null);
    assert.equal(h.recordAnswer(5000, 5, 200, 2), "up");
  });

  it("suspicion takes a member down at the next miss only when it counts", () => {
    const alone = new MemberHealth();
    alone.recordAnswer(0, 5, 200);
    alone.markSuspect();
    assert.equal(alone.recordMiss(100, "timeout", 3, undefined, false), null);
    assert.equal(alone.recordMiss(200, "timeout", 3, undefined, false), null);
    assert.equal(alone.recordMiss(300, "timeout", 3, undefined, false), "down");
    const paired = new MemberHealth();
    paired.recordAnswer(0, 5, 200);
    paired.markSuspect();
    assert.equal(paired.recordMiss(100, "timeout", 3, undefined, true), "down");
  });

  it("more than 4 changes within a minute is reported once as flapping", () => {
    const h = new MemberHealth();
    h.recordAnswer(0, 5, 200, 1);
    const reports: number[] = [];
    for (let i = 1; i <= 8; i++) {
      if (i % 2) h.recordMiss(i * 1000, "timeout", 1);
      else h.recordAnswer(i * 1000, 5, 200, 1);
      const n = h.flappingNow(i * 1000);
      if (n > 0) reports.push(n);
    }
    assert.deepEqual(reports, [5], "once per minute, at the fifth change");
    assert.equal(h.flappingNow(70_000), 0, "the old changes have left the window");
  });
});
