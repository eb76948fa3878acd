// vipless's own delay (loop-lag.ts): stalls measured by a sampling timer on a fake
// clock, the active clock HA judges on, and stall time within a window.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LoopLag, SAMPLE_MS, STALL_SLACK_MS } from "../../src/service/loop-lag.ts";
import { FakeClock } from "./fake-runtime.ts";

describe("loop lag", () => {
  it("on time, the active clock is the monotonic clock", () => {
    const c = new FakeClock();
    const lag = new LoopLag(c);
    lag.start();
    c.advance(1_000);
    assert.equal(lag.stalledMs(), 0);
    assert.equal(lag.activeNow(), c.mono);
    lag.stop();
    assert.equal(c.live, 0);
  });

  it("a stall is measured when the sampling timer runs late, and leaves the active clock behind", () => {
    const c = new FakeClock();
    const lag = new LoopLag(c);
    lag.start();
    c.advance(100);
    const before = c.mono;
    c.stall(2_000);
    c.fireDue();
    const stall = lag.stalledMs();
    assert.ok(stall >= 2_000 - SAMPLE_MS - STALL_SLACK_MS && stall <= 2_000, `${stall}`);
    assert.equal(lag.activeNow(), c.mono - stall);
    assert.ok(lag.stalledWithin(before, c.mono) === stall);
    assert.equal(lag.stalledWithin(0, before), 0, "nothing before the stall");
    // One sample 1,970 ms late, however long, is a pause, not a sustained lag.
    assert.equal(lag.sustainedMs(), 0);
  });

  it("catchUp() counts a stall before the sampling timer has run", () => {
    const c = new FakeClock();
    const lag = new LoopLag(c);
    lag.start();
    c.advance(50);
    c.stall(1_000);
    const active = lag.catchUp();
    assert.ok(c.mono - active > 900, "the stall is off the active clock at once");
    c.fireDue();
    const after = lag.stalledMs();
    c.advance(200);
    assert.equal(lag.stalledMs(), after, "the late sampling timer does not count it twice");
  });

  it("sustained: the lag most of the last 8 samples reached, as in a saturated loop", () => {
    const c = new FakeClock();
    const lag = new LoopLag(c);
    lag.start();
    // Every turn of the loop reads for 150 ms before the sampling timer runs.
    for (let i = 0; i < 4; i++) {
      c.stall(150 + SAMPLE_MS);
      c.fireDue();
    }
    assert.equal(lag.sustainedMs(), 0, "4 of 8 late samples are not most of them");
    c.stall(150 + SAMPLE_MS);
    c.fireDue();
    assert.ok(lag.sustainedMs() >= 140, `${lag.sustainedMs()} ms after 5 late samples`);
    // Back on time: within 8 samples the sustained lag is gone.
    for (let i = 0; i < 8; i++) c.advance(SAMPLE_MS);
    assert.equal(lag.sustainedMs(), 0);
    lag.stop();
  });
});
