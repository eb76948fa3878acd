import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TimerQueue } from "../../src/transaction/timer-queue.ts";
import { seededRandom } from "../support/random.ts";

describe("TimerQueue", () => {
  it("returns due payloads earliest first, and nothing early", () => {
    const q = new TimerQueue<string>();
    q.schedule(300, "c");
    q.schedule(100, "a");
    q.schedule(200, "b");
    assert.equal(q.nextDeadline(), 100);
    assert.deepEqual(q.expire(99), []);
    assert.deepEqual(q.expire(200), ["a", "b"]);
    assert.equal(q.nextDeadline(), 300);
    assert.deepEqual(q.expire(1000), ["c"]);
    assert.equal(q.nextDeadline(), undefined);
    assert.equal(q.size, 0);
  });

  it("fires timers due at the same ms in the order they were set", () => {
    const q = new TimerQueue<number>();
    for (let i = 0; i < 10; i++) q.schedule(50, i);
    assert.deepEqual(q.expire(50), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("cancels a pending timer once, and not one that already fired", () => {
    const q = new TimerQueue<string>();
    const a = q.schedule(100, "a");
    const b = q.schedule(200, "b");
    assert.equal(q.cancel(a), true);
    assert.equal(q.cancel(a), false);
    assert.equal(q.nextDeadline(), 200);
    assert.deepEqual(q.expire(500), ["b"]);
    assert.equal(q.cancel(b), false);
  });

  it("ignores handles from another queue", () => {
    const q1 = new TimerQueue<string>();
    const q2 = new TimerQueue<string>();
    const h = q1.schedule(10, "x");
    q2.schedule(10, "y");
    assert.equal(q2.cancel(h), false);
    assert.equal(q2.size, 1);
    assert.equal(q1.size, 1);
  });

  it("limits how many payloads one expire returns", () => {
    const q = new TimerQueue<number>();
    for (let i = 0; i < 5; i++) q.schedule(i, i);
    assert.deepEqual(q.expire(10, 2), [0, 1]);
    assert.equal(q.popDue(10), 2);
    assert.deepEqual(q.expire(10), [3, 4]);
  });

  it("keeps order across 60,000 timers with half of them cancelled", () => {
    const rnd = seededRandom(42);
    const q = new TimerQueue<number>();
    const handles = [];
    const deadlines: number[] = [];
    for (let i = 0; i < 60_000; i++) {
      deadlines.push(Math.floor(rnd() * 64_000));
      handles.push(q.schedule(deadlines[i], i));
    }
    const kept: number[] = [];
    for (let i = 0; i < handles.length; i++) {
      if (rnd() < 0.5) assert.equal(q.cancel(handles[i]), true);
      else kept.push(i);
    }
    assert.equal(q.size, kept.length);
    kept.sort((a, b) => deadlines[a] - deadlines[b] || a - b);
    // Drain in steps, like a runtime timer firing at each next deadline.
    const fired: number[] = [];
    for (let step = 0; step < 100_000 && q.size > 0; step++) {
      const at = q.nextDeadline()!;
      for (const i of q.expire(at)) {
        assert.ok(deadlines[i] <= at);
        fired.push(i);
      }
    }
    assert.deepEqual(fired, kept);
  });
});
