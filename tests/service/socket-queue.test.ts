// The wait in the SIP socket's kernel queue (socket-queue.ts), on a fake clock: the
// queued bytes over the rate vipless reads datagrams at.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { estimateDelayMs, SAMPLE_MS, SocketQueueDelay } from "../../src/service/socket-queue.ts";
import { FakeClock } from "./fake-runtime.ts";

describe("socket queue delay", () => {
  it("an empty queue is no delay, whatever the rate", () => {
    assert.equal(estimateDelayMs(0, 0, 0, 50), 0);
    assert.equal(estimateDelayMs(0, 1000, 500_000, 50), 0);
  });

  it("queued bytes over the read rate: 2,000 queued datagrams read at 20/ms wait 100 ms", () => {
    // 500-byte datagrams, counted by the kernel with ~1 KiB of overhead each.
    const queued = 2000 * (500 + 1024);
    assert.equal(Math.round(estimateDelayMs(queued, 1000, 500_000, 50)), 100);
  });

  it("something queued and nothing read: it waited the whole interval", () => {
    assert.equal(estimateDelayMs(10_000, 0, 0, 50), 50);
  });

  it("samples the kernel's queue every 50 ms with the datagrams read in between", () => {
    const c = new FakeClock();
    const source = { udpRead: { datagrams: 0, bytes: 0 }, queued: 0 as number | null };
    const q = new SocketQueueDelay(c, {
      udpRead: source.udpRead,
      udpQueueBytes: () => source.queued,
    });
    q.start();
    source.udpRead.datagrams += 1000;
    source.udpRead.bytes += 500_000;
    source.queued = 4000 * 1524;
    c.advance(SAMPLE_MS);
    assert.equal(Math.round(q.delayMs()), 200);
    assert.equal(q.queuedBytes(), 4000 * 1524);
    source.queued = null; // the kernel's table cannot be read
    c.advance(SAMPLE_MS);
    assert.equal(q.delayMs(), 0);
    q.stop();
    assert.equal(c.live, 0);
  });
});
