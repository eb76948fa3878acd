import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Histogram, RTT_BUCKETS_SECONDS } from "../../src/ha/histogram.ts";

describe("Histogram", () => {
  it("reports cumulative bucket counts ending with +Inf, plus sum and count", () => {
    const h = new Histogram([0.01, 0.1, 1]);
    for (const v of [0.005, 0.01, 0.05, 0.5, 3]) h.observe(v);
    const s = h.snapshot();
    assert.deepEqual(s.buckets, [
      { le: 0.01, count: 2 },
      { le: 0.1, count: 3 },
      { le: 1, count: 4 },
      { le: Infinity, count: 5 },
    ]);
    assert.equal(s.count, 5);
    assert.ok(Math.abs(s.sum - 3.565) < 1e-9);
  });

  it("uses increasing default bounds in seconds", () => {
    const s = new Histogram().snapshot();
    assert.equal(s.buckets.length, RTT_BUCKETS_SECONDS.length + 1);
    assert.equal(s.count, 0);
  });

  it("refuses bounds that do not increase", () => {
    assert.throws(() => new Histogram([0.1, 0.1]));
  });
});
