// scripts/bench/profile-summary.ts: the figures a profile report quotes (self time by
// sample count, GC pauses from the runtimes' logs, the loop-lag histogram's growth).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  bucketDelta,
  bundleModules,
  type CpuProfile,
  GcLog,
  gcTotals,
  histogramBuckets,
  summarize,
  threadCpu,
  threadDelta,
} from "../../scripts/bench/profile-summary.ts";

const frame = (functionName: string, url = "", lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

describe("profile summary", () => {
  it("maps a bundle line to the module whose mark precedes it", () => {
    const text = ["// prelude", "// src/sip/parse.ts", "a", "// src/transaction/layer.ts", "b"]
      .join("\n");
    const of = bundleModules(text, "vipless.js");
    assert.equal(of("file:///x/dist/vipless.js", 2), "src/sip/parse.ts");
    assert.equal(of("file:///x/dist/vipless.js", 4), "src/transaction/layer.ts");
    assert.equal(of("file:///x/dist/vipless.js", 0), "(bundle prelude)");
    assert.equal(of("ext:deno_net/01_net.js", 7), "01_net.js");
  });

  it("counts self samples inside the window, idle apart, and finds the longest busy run", () => {
    const bundle = "file:///d/vipless.js";
    const p: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame("(root)") },
        { id: 2, callFrame: frame("(idle)") },
        { id: 3, callFrame: frame("parse", bundle, 1) },
        { id: 4, callFrame: frame("(garbage collector)") },
      ],
      startTime: 0,
      endTime: 10_000,
      // 1 ms apart: idle, parse, parse, gc, idle, parse (outside the window)
      samples: [2, 3, 3, 4, 2, 3],
      timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
    };
    const s = summarize(p, bundleModules("// src/sip/parse.ts\nx", "vipless.js"), [0, 5]);
    assert.equal(s.samples, 5);
    assert.equal(s.busySamples, 3);
    assert.equal(s.gcSamples, 1);
    assert.deepEqual(s.top[0], { key: "parse (src/sip/parse.ts:2)", samples: 2, share: 200 / 3 });
    assert.equal(s.byModule[0].key, "src/sip/parse.ts");
    assert.ok(s.hasIdle);
    assert.equal(s.longestBusy.length, 1);
    assert.equal(s.longestBusy[0].ms, 2);
  });

  it("takes GC pauses from V8 --trace-gc and JSC logGC lines", () => {
    const log = new GcLog();
    log.line(
      "[123:0x5]     1234 ms: Scavenge 12.1 (14.0) -> 11.0 (15.0) MB, pooled: 0.0 MB, " +
        "1.50 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure;",
    );
    log.line("[123:0x5]  2000 ms: Mark-Compact 40.0 (50.0) -> 30.0 (50.0) MB, 7.25 / 0.10 ms");
    log.line("[GC<0x1>: START M 8838kb => FullCollection, a=0kb p=2.5ms (max 2.5)...]");
    log.line("[GC<0x1>: M a=347kb p=1.25ms (max 2.5), cycle 4.6ms END]");
    log.line("[GC<0x1>: START M 900kb => EdenCollection, p=0.5ms...]");
    log.line('{"event":"member-up","msg":"p=9ms"}');
    const t = gcTotals(log.pauses);
    assert.equal(t.count, 5);
    assert.equal(t.max, 7.25);
    assert.deepEqual(t.byKind.Full, { count: 2, ms: 3.75, max: 2.5 });
    assert.deepEqual(t.byKind.Eden, { count: 1, ms: 0.5, max: 0.5 });
    assert.equal(t.byKind.Scavenge.count, 1);
  });

  it("turns two readings of a cumulative histogram into counts per bucket", () => {
    const read = (a: number, b: number, c: number) =>
      histogramBuckets(
        [
          `lag_bucket{le="0.001"} ${a}`,
          `lag_bucket{le="0.01"} ${b}`,
          `lag_bucket{le="+Inf"} ${c}`,
          "lag_count 0",
        ].join("\n"),
        "lag",
      );
    assert.deepEqual(bucketDelta(read(5, 6, 6), read(15, 19, 20)), [
      { le: 0.001, count: 10 },
      { le: 0.01, count: 3 },
      { le: Infinity, count: 1 },
    ]);
  });

  it("reads thread CPU from /proc stat lines and sums threads of one kind", () => {
    const stat = (tid: number, name: string, user: number, sys: number) =>
      `${tid} (${name}) S 1 1 1 0 -1 0 0 0 0 0 ${user} ${sys} 0 0 20 0 1 0`;
    const before = new Map([[2, threadCpu(stat(2, "HeapHelper 1", 100, 0))]]);
    const after = new Map([
      [1, threadCpu(stat(1, "bun", 500, 200), "7000000000 1500000000 900")],
      [2, threadCpu(stat(2, "HeapHelper 1", 150, 10))],
      [3, threadCpu(stat(3, "HeapHelper 2", 50, 0))],
    ]);
    assert.deepEqual(threadDelta(before, after), [
      { name: "bun", user: 5, system: 2, runQueue: 1.5 },
      { name: "HeapHelper N", user: 1, system: 0.1, runQueue: 0 },
    ]);
  });
});
