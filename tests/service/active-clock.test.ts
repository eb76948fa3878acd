// The clock HA judges members on (active-clock.ts), on a fake clock: it leaves out the
// loop's stalls, the socket queue's delay and the time the queue overflowed, and never
// runs backwards. And the queue is sampled from the message path when its timer starves.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ActiveClock } from "../../src/service/active-clock.ts";
import { LoopLag } from "../../src/service/loop-lag.ts";
import { SAMPLE_MS, SocketQueueDelay } from "../../src/service/socket-queue.ts";
import { FakeClock } from "./fake-runtime.ts";

function rig() {
  const c = new FakeClock();
  const read = { datagrams: 0, bytes: 0 };
  const kernel = { queued: 0, drops: 0 };
  const queue = new SocketQueueDelay(c, {
    udpRead: read,
    udpQueueBytes: () => kernel.queued,
    udpReceiveDrops: () => kernel.drops,
  });
  const lag = new LoopLag(c);
  const active = new ActiveClock(c.monotonic, lag, queue);
  lag.start();
  queue.start();
  /** `n` datagrams of 500 bytes read, with `queued` bytes and `drops` more dropped after. */
  const step = (n: number, queued: number, drops: number) => {
    read.datagrams += n;
    read.bytes += n * 500;
    kernel.queued = queued;
    kernel.drops += drops;
    c.advance(SAMPLE_MS);
  };
  return { c, queue, active, step };
}

describe("active clock", () => {
  it("runs with the monotonic clock while vipless keeps up", () => {
    const { c, active, step } = rig();
    const start = active.now();
    for (let i = 0; i < 20; i++) step(100, 0, 0);
    assert.equal(active.now() - start, 20 * SAMPLE_MS);
    assert.equal(active.behind(), c.mono - active.now());
  });

  it("stands still while the socket queue's delay grows, and catches up as it drains", () => {
    const { active, step } = rig();
    step(1000, 0, 0);
    const before = active.now();
    // 4,000 datagrams queued, read at 20/ms: 200 ms behind, in two samples running.
    step(1000, 4000 * 1524, 0);
    step(1000, 4000 * 1524, 0);
    const during = active.now();
    assert.ok(during - before < 2 * SAMPLE_MS, `${during - before} ms of active time`);
    step(1000, 0, 0);
    step(1000, 0, 0);
    assert.ok(active.now() > during, "the clock moves on once the queue is read");
  });

  it("does not advance while the kernel drops datagrams sample after sample", () => {
    const { active, step } = rig();
    step(1000, 0, 0);
    step(1000, 0, 10); // one sample with drops: a burst
    const before = active.now();
    for (let i = 0; i < 10; i++) step(1000, 0, 500);
    assert.ok(active.now() - before <= SAMPLE_MS, `${active.now() - before} ms while overflowing`);
  });

  it("the queue is sampled from the message path when its timer is starved", () => {
    const { c, queue } = rig();
    const due = c.setCalls.length;
    // The runtime runs no timer for a second (Bun reading a full socket queue) ...
    c.mono += 1_000;
    queue.runIfOverdue(c.mono);
    // ... so the message path took the sample and re-armed the sampling timer.
    assert.equal(c.setCalls.length, due + 1);
    queue.runIfOverdue(c.mono + 10);
    assert.equal(c.setCalls.length, due + 1, "not again before a period has passed");
  });
});
