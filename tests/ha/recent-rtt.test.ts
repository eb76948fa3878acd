import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RECENT_RTT_LIMIT, RttHistogram } from "../../src/ha/recent-rtt.ts";

describe("RttHistogram: the last probe round trips", () => {
  it("keeps the newest samples in milliseconds, oldest first, up to its limit", () => {
    const h = new RttHistogram(3);
    assert.deepEqual(h.recentMs(), []);
    for (const s of [0.001, 0.002, 0.0035, 0.004]) h.observe(s);
    assert.deepEqual(h.recentMs(), [2, 3.5, 4]);
    // Still a histogram: every sample counted.
    assert.equal(h.count, 4);
  });

  it("keeps twenty by default", () => {
    const h = new RttHistogram();
    for (let i = 1; i <= 30; i++) h.observe(i / 1000);
    assert.equal(RECENT_RTT_LIMIT, 20);
    assert.deepEqual(h.recentMs(), Array.from({ length: 20 }, (_, i) => i + 11));
  });
});
