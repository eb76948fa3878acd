// The bench's CPU steal figure (scripts/bench/proxy/procfs.ts): the share of the machine's
// CPU time the hypervisor took between two /proc/stat readings, printed with every step.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { machineCpuTimes, stealShare } from "../../scripts/bench/proxy/procfs.ts";

describe("bench CPU steal", () => {
  it("is the stolen share of all CPU time between two readings", () => {
    assert.equal(stealShare({ total: 1000, steal: 100 }, { total: 2000, steal: 350 }), 0.25);
  });

  it("is unknown (NaN) without two readings, or when no time passed", () => {
    assert.ok(Number.isNaN(stealShare(undefined, { total: 10, steal: 0 })));
    assert.ok(Number.isNaN(stealShare({ total: 10, steal: 0 }, { total: 10, steal: 0 })));
  });

  it("reads this machine's /proc/stat where there is one", () => {
    const t = machineCpuTimes();
    if (!existsSync("/proc/stat")) return assert.equal(t, undefined);
    assert.ok(t && t.total > 0 && t.steal >= 0 && t.steal <= t.total, JSON.stringify(t));
  });
});
