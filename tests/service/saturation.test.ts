// When vipless counts itself saturated (saturation.ts): the input of its early 503s.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isSaturated } from "../../src/service/saturation.ts";

const calm = { lagMs: 0, queueDelayMs: 0, overflowing: false, draining: false };

describe("saturation", () => {
  it("a loop lag or a queue wait above overload.max_delay is saturation", () => {
    assert.equal(isSaturated(100, calm), false);
    assert.equal(isSaturated(100, { ...calm, lagMs: 150 }), true);
    assert.equal(isSaturated(100, { ...calm, queueDelayMs: 150 }), true);
  });

  it("while the queue drains, a delay is a backlog being read, not saturation", () => {
    assert.equal(
      isSaturated(100, { ...calm, lagMs: 900, queueDelayMs: 900, draining: true }),
      false,
    );
  });

  it("an overflowing queue is saturation, draining or not", () => {
    assert.equal(isSaturated(100, { ...calm, overflowing: true, draining: true }), true);
  });

  it("overload.max_delay 0 turns the judgement off", () => {
    assert.equal(isSaturated(0, { ...calm, overflowing: true, lagMs: 1e6 }), false);
  });
});
