// The one runtime timer of the service glue (src/service/wake-timer.ts): armed for the
// earliest deadline, re-armed only when a deadline moves in, and the stall guard that
// puts off a late tick by 1 ms so answers waiting in the socket buffers are read first.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMER_MS, STALL_MS, WakeTimer } from "../../src/service/wake-timer.ts";
import { FakeClock } from "./fake-runtime.ts";

/** A timer over a fake clock whose single deadline the test sets; ticks are recorded. */
function setup(firstDeadline = Infinity) {
  const clock = new FakeClock();
  const state = { deadline: firstDeadline, ticks: [] as number[], log: [] as string[] };
  const timer = new WakeTimer(clock, () => state.deadline, (now) => {
    state.ticks.push(now);
    state.log.push(`tick@${now}`);
    // What a tick does: everything due is done, so no deadline is left at or before now.
    if (state.deadline <= now) state.deadline = Infinity;
  });
  return { clock, state, timer };
}

describe("WakeTimer: one runtime timer for every deadline", () => {
  it("is set for the earliest deadline and ticks there, with the clock's time", () => {
    const { clock, state, timer } = setup();
    state.deadline = clock.mono + 500;
    timer.arm();
    assert.deepEqual(clock.setCalls.map((c) => c.ms), [500]);
    clock.advance(499);
    assert.deepEqual(state.ticks, []);
    clock.advance(1);
    assert.deepEqual(state.ticks, [1_500]);
    assert.equal(clock.live, 1, "re-armed after the tick");
  });

  it("keeps the timer for a later deadline and replaces it for an earlier one", () => {
    const { clock, state, timer } = setup();
    state.deadline = clock.mono + 2_000;
    timer.arm();
    state.deadline = clock.mono + 3_000;
    timer.arm();
    assert.equal(clock.setCalls.length, 1, "a later deadline is served by the timer set");
    assert.equal(clock.clears, 0);
    state.deadline = clock.mono + 200;
    timer.arm();
    assert.equal(clock.clears, 1);
    assert.deepEqual(clock.setCalls.map((c) => c.ms), [2_000, 200]);
    assert.equal(clock.live, 1);
  });

  it("an unchanged deadline arms nothing new, however often arm() is called", () => {
    const { clock, state, timer } = setup();
    state.deadline = clock.mono + 100;
    for (let i = 0; i < 1000; i++) timer.arm();
    assert.equal(clock.setCalls.length, 1);
    assert.equal(clock.clears, 0);
  });

  it("waits at most a minute, then ticks (early and harmless) and re-arms for the rest", () => {
    const { clock, state, timer } = setup();
    const far = clock.mono + 3_600_000;
    state.deadline = far;
    timer.arm();
    assert.deepEqual(clock.setCalls.map((c) => c.ms), [MAX_TIMER_MS]);
    clock.advance(MAX_TIMER_MS);
    assert.deepEqual(state.ticks, [1_000 + MAX_TIMER_MS], "an early tick, not a stall");
    assert.equal(state.deadline, far, "nothing was due yet");
    assert.equal(clock.nextAt, 1_000 + 2 * MAX_TIMER_MS);
  });

  it("with no deadline at all it still wakes once a minute", () => {
    const { clock, state, timer } = setup();
    timer.arm();
    assert.deepEqual(clock.setCalls.map((c) => c.ms), [MAX_TIMER_MS]);
    clock.advance(MAX_TIMER_MS);
    assert.equal(state.ticks.length, 1);
  });

  it("a deadline already past is served at once (0 ms)", () => {
    const { clock, state, timer } = setup();
    state.deadline = clock.mono - 10;
    timer.arm();
    assert.deepEqual(clock.setCalls.map((c) => c.ms), [0]);
  });

  it("fire() ticks at once when nothing was armed (the service's start)", () => {
    const { clock, state, timer } = setup(2_000);
    timer.fire();
    assert.deepEqual(state.ticks, [1_000]);
    assert.deepEqual(clock.setCalls.map((c) => c.ms), [1_000], "then armed for the deadline");
  });

  it("never has more than one runtime timer live", () => {
    const { clock, state, timer } = setup();
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
    for (let step = 0; step < 2_000; step++) {
      const r = next();
      if (r < 0.4) state.deadline = Math.min(state.deadline, clock.mono + Math.floor(next() * 900));
      if (r < 0.7) timer.arm();
      else if (r < 0.9) clock.advance(Math.floor(next() * 300));
      else {
        clock.stall(Math.floor(next() * 200));
        clock.fireDue();
      }
      assert.ok(clock.live <= 1, `step ${step}: ${clock.live} timers live`);
    }
    assert.ok(state.ticks.length > 100);
  });

  it("stop() clears the timer; nothing ticks or arms afterwards", () => {
    const { clock, state, timer } = setup();
    state.deadline = clock.mono + 100;
    timer.arm();
    timer.stop();
    assert.equal(clock.live, 0);
    timer.arm();
    timer.fire();
    clock.advance(10_000);
    assert.deepEqual(state.ticks, []);
    assert.equal(clock.live, 0);
  });
});

describe("WakeTimer: the stall guard", () => {
  it("a tick more than STALL_MS late is put off by 1 ms", () => {
    const { clock, state, timer } = setup(1_500);
    timer.arm();
    clock.stall(500 + STALL_MS + 1);
    clock.fireDue();
    assert.deepEqual(state.ticks, [], "no timeout judged right after the stall");
    assert.equal(clock.live, 1);
    assert.deepEqual(clock.setCalls.at(-1)?.ms, 1);
    clock.advance(1);
    assert.deepEqual(state.ticks, [1_500 + STALL_MS + 2]);
  });

  it("a tick up to STALL_MS late runs at once", () => {
    const { clock, state, timer } = setup(1_500);
    timer.arm();
    clock.stall(500 + STALL_MS);
    clock.fireDue();
    assert.deepEqual(state.ticks, [1_500 + STALL_MS]);
  });

  it("what arrives during the 1 ms pause is handled before the tick", () => {
    const { clock, state, timer } = setup(1_500);
    timer.arm();
    clock.stall(800);
    clock.fireDue();
    // The runtime reads the sockets now: an answer clears the timeout that was due.
    state.log.push("answer read");
    state.deadline = clock.mono + 1_000;
    timer.arm();
    assert.equal(clock.live, 1, "the pending 1 ms timer still serves");
    clock.advance(1);
    assert.deepEqual(state.log, ["answer read", "tick@1801"]);
  });

  it("puts a tick off only once, even when the 1 ms timer is late too", () => {
    const { clock, state, timer } = setup(1_500);
    timer.arm();
    clock.stall(800);
    clock.fireDue();
    clock.stall(400);
    clock.fireDue();
    assert.deepEqual(state.ticks, [2_200]);
  });

  it("guards again after a tick ran", () => {
    const { clock, state, timer } = setup(1_500);
    timer.arm();
    clock.stall(800);
    clock.fireDue();
    clock.advance(1);
    assert.equal(state.ticks.length, 1);
    state.deadline = clock.mono + 100;
    timer.arm();
    clock.stall(100 + STALL_MS + 10);
    clock.fireDue();
    assert.equal(state.ticks.length, 1, "the second stall is guarded too");
    clock.advance(1);
    assert.equal(state.ticks.length, 2);
  });

  it("an early wake-up (the one-minute cap) is never taken for a stall", () => {
    const { clock, state, timer } = setup();
    state.deadline = clock.mono + 10 * MAX_TIMER_MS;
    timer.arm();
    clock.advance(MAX_TIMER_MS);
    assert.equal(state.ticks.length, 1);
  });
});
