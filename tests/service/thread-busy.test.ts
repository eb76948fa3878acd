// How busy the main thread is (thread-busy.ts): the share of each 50 ms it ran or
// waited for a CPU, on a fake clock, and from the real runtime's schedstat.
import { describe, it } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import { SAMPLE_MS, ThreadBusy } from "../../src/service/thread-busy.ts";
import { detectRuntime } from "../../src/runtime/index.ts";
import { FakeClock } from "./fake-runtime.ts";
import { sleep } from "../support/wait.ts";

function rig(start: number | null) {
  const c = new FakeClock();
  let ns = start;
  const busy = new ThreadBusy({
    monotonic: c.monotonic,
    setTimer: c.setTimer,
    clearTimer: c.clearTimer,
    threadSchedNs: () => ns,
  });
  /** The thread ran `ms` more. */
  const ran = (ms: number) => {
    if (ns !== null) ns += ms * 1e6;
  };
  /** The thread is busy `ms` of the next `over` ms, the timers firing. */
  const run = (ms: number, over = SAMPLE_MS) => {
    ran(ms);
    c.advance(over);
  };
  return { c, busy, run, ran };
}

describe("main thread busy share", () => {
  it("is the share of each sample the thread ran or waited to run", () => {
    const { busy, run } = rig(0);
    busy.start();
    assert.equal(busy.share(), null, "nothing before the first sample");
    run(SAMPLE_MS);
    assert.equal(busy.share(), 1);
    run(SAMPLE_MS / 5);
    assert.ok(Math.abs(busy.share()! - 0.2) < 1e-9, `${busy.share()}`);
    run(0);
    assert.equal(busy.share(), 0);
  });

  it("a starved timer is sampled from the message path, over the whole gap", () => {
    const { c, busy, ran } = rig(0);
    busy.start();
    busy.runIfOverdue(c.mono);
    assert.equal(busy.share(), null, "not overdue yet: no sample");
    // The loop read for 400 ms without running a timer, busy all along: the fake clock
    // moves without firing, and the message path finds the sample overdue.
    c.stall(400);
    ran(400);
    busy.runIfOverdue(c.mono);
    assert.equal(busy.share(), 1);
    busy.stop();
  });

  it("where the kernel cannot say, nothing is sampled and the share stays unknown", () => {
    const { c, busy, run } = rig(null);
    busy.start();
    run(SAMPLE_MS, 10 * SAMPLE_MS);
    assert.equal(busy.share(), null);
    assert.equal(c.setCalls.length, 0, "no sampling timer");
  });

  it("the runtime reads the main thread's schedstat: a busy loop is busy, a sleep is not", async () => {
    const rt = await detectRuntime();
    const first = rt.threadSchedNs();
    if (process.platform !== "linux") {
      assert.equal(first, null);
      return;
    }
    assert.equal(typeof first, "number", "readable on Linux under both runtimes");
    const t0 = performance.now();
    while (performance.now() - t0 < 100) { /* busy */ }
    const spun = rt.threadSchedNs()!;
    const spunShare = (spun - first!) / 1e6 / (performance.now() - t0);
    assert.ok(spunShare > 0.5, `busy share of a spin: ${spunShare}`);
    const t1 = performance.now();
    await sleep(200);
    const slept = (rt.threadSchedNs()! - spun) / 1e6 / (performance.now() - t1);
    assert.ok(slept < 0.5, `busy share of a sleep: ${slept}`);
  });
});
