// The wait in the SIP socket's kernel queue (socket-queue.ts), on a fake clock: the
// queued bytes over the rate vipless reads datagrams at.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  estimateDelayMs,
  MIN_RATE_PER_MS,
  SAMPLE_MS,
  SocketQueueDelay,
  TREND_SAMPLES,
} from "../../src/service/socket-queue.ts";
import { FakeClock } from "./fake-runtime.ts";

describe("socket queue delay", () => {
  it("an empty queue is no delay, whatever the rate", () => {
    assert.equal(estimateDelayMs(0, 0, 0, 20), 0);
    assert.equal(estimateDelayMs(0, 1000, 500_000, 20), 0);
  });

  it("queued bytes over the read rate: 2,000 queued datagrams read at 20/ms wait 100 ms", () => {
    // 500-byte datagrams, counted by the kernel with ~1 KiB of overhead each.
    const queued = 2000 * (500 + 1024);
    assert.equal(Math.round(estimateDelayMs(queued, 1000, 500_000, 20)), 100);
  });

  it("a burst at an idle instance is read at the least assumed rate, not at its idle one", () => {
    // 100 datagrams of 500 bytes, nothing read before: 100 / 5 per ms.
    assert.equal(
      Math.round(estimateDelayMs(100 * 1524, 0, 0, 0.01)),
      Math.round(100 * 1524 / 1024 / MIN_RATE_PER_MS),
    );
  });

  it("samples the kernel's queue every 50 ms with the datagrams read in between", () => {
    const c = new FakeClock();
    const source = { udpRead: { datagrams: 0, bytes: 0 }, queued: 0 as number | null };
    const q = new SocketQueueDelay(c, {
      udpRead: source.udpRead,
      udpQueueBytes: () => source.queued,
      udpReceiveDrops: () => null,
    });
    q.start();
    source.udpRead.datagrams += 1000;
    source.udpRead.bytes += 500_000;
    source.queued = 4000 * 1524;
    c.advance(SAMPLE_MS);
    assert.equal(q.delayMs(), 0, "one sample with a backlog is not yet a delay");
    assert.equal(q.queuedBytes(), 4000 * 1524);
    source.udpRead.datagrams += 1000;
    source.udpRead.bytes += 500_000;
    c.advance(SAMPLE_MS);
    assert.equal(Math.round(q.delayMs()), 200, "the backlog persisted: 4,000 at 20/ms");
    source.queued = null; // the kernel's table cannot be read
    c.advance(SAMPLE_MS);
    assert.equal(q.delayMs(), 0);
  });

  it("a backlog after one stall of the loop is no delay once it drains; under overload it stays", () => {
    const c = new FakeClock();
    const source = { udpRead: { datagrams: 0, bytes: 0 }, queued: 0 };
    const q = new SocketQueueDelay(c, {
      udpRead: source.udpRead,
      udpQueueBytes: () => source.queued,
      udpReceiveDrops: () => null,
    });
    q.start();
    const read = (n: number) => {
      source.udpRead.datagrams += n;
      source.udpRead.bytes += n * 500;
    };
    // A 1 s pause: 4,000 datagrams wait, then the queue drains before the next sample.
    read(1000);
    c.advance(SAMPLE_MS);
    source.queued = 4000 * 1524;
    c.stall(1_000);
    c.fireDue();
    source.queued = 0;
    read(4000);
    c.advance(SAMPLE_MS);
    assert.equal(q.delayMs(), 0);
    // Overloaded: every sample comes late and finds the queue full.
    for (let i = 0; i < 3; i++) {
      read(8000);
      source.queued = 16_000 * 1524;
      c.stall(400);
      c.fireDue();
    }
    assert.ok(q.delayMs() > 100, `${q.delayMs()} ms`);
    q.stop();
    assert.equal(c.live, 0);
  });

  it("overflowing: the kernel dropped datagrams in each of the last two samples", () => {
    const c = new FakeClock();
    let drops = 100;
    const q = new SocketQueueDelay(c, {
      udpRead: { datagrams: 0, bytes: 0 },
      udpQueueBytes: () => 0, // Bun's reading drains the kernel queue in gulps
      udpReceiveDrops: () => drops,
    });
    q.start();
    drops += 50;
    c.advance(SAMPLE_MS);
    assert.equal(q.overflowing(), false, "one sample with drops is a burst");
    drops += 50;
    c.advance(SAMPLE_MS);
    assert.equal(q.overflowing(), true);
    c.advance(SAMPLE_MS);
    assert.equal(q.overflowing(), false, "no drop since the last sample");
    q.stop();
  });
});

describe("socket queue trend", () => {
  const rig = () => {
    const c = new FakeClock();
    const source = { queued: 0, drops: 0 };
    const q = new SocketQueueDelay(c, {
      udpRead: { datagrams: 0, bytes: 0 },
      udpQueueBytes: () => source.queued,
      udpReceiveDrops: () => source.drops,
    });
    q.start();
    return { c, source, q };
  };

  it("draining: the queue holds clearly less than 300 ms ago, nothing dropped", () => {
    const { c, source, q } = rig();
    source.queued = 6_000_000;
    for (let i = 0; i <= TREND_SAMPLES; i++) c.advance(SAMPLE_MS);
    assert.equal(q.draining(), false, "a full queue that stays full does not drain");
    for (let i = 0; i <= TREND_SAMPLES; i++) {
      source.queued -= 400_000;
      c.advance(SAMPLE_MS);
    }
    assert.equal(q.draining(), true);
    source.drops += 10;
    c.advance(SAMPLE_MS);
    assert.equal(q.draining(), false, "a queue that drops is full, whatever its trend");
    q.stop();
  });

  it("a queue that only wobbles (Bun's reads in gulps) is not draining", () => {
    const { c, source, q } = rig();
    for (let i = 0; i < 4 * TREND_SAMPLES; i++) {
      source.queued = i % 2 === 0 ? 3_000_000 : 2_900_000;
      c.advance(SAMPLE_MS);
      assert.equal(q.draining(), false, `sample ${i}`);
    }
    q.stop();
  });
});
