// The per-source limiter (pike-like) and the once-per-key log gate, on a fake clock:
// time is an argument, so every step is exact.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SourceLimiter } from "../../src/protect/source-limiter.ts";
import { OncePerKey } from "../../src/protect/once-per-key.ts";

const A = "192.0.2.1";
const B = "192.0.2.2";

function limiter(ratePerSecond: number, blockMs = 1000, maxSources = 100) {
  return new SourceLimiter({ ratePerSecond, blockMs, maxSources });
}

describe("per-source request limiter", () => {
  it("off at rate 0: everything passes and nothing is tracked", () => {
    const l = limiter(0);
    for (let i = 0; i < 1000; i++) assert.equal(l.check(A, true, 0), "pass");
    assert.equal(l.tracked, 0);
  });

  it("passes a burst up to the rate, blocks the request past it, then drops all for block_time", () => {
    const l = limiter(5, 1000);
    const t0 = 10_000;
    for (let i = 0; i < 5; i++) assert.equal(l.check(A, true, t0), "pass", `request ${i + 1}`);
    assert.equal(l.check(A, true, t0), "newly-blocked");
    assert.equal(l.blocks, 1);
    // Blocked: requests and responses alike are dropped until the block ends.
    assert.equal(l.check(A, true, t0 + 500), "blocked");
    assert.equal(l.check(A, false, t0 + 999), "blocked");
    assert.equal(l.blockedAt(t0 + 999), 1);
    assert.equal(l.dropped, 3);
    // Another source is not affected.
    assert.equal(l.check(B, true, t0 + 500), "pass");
    // After block_time the source starts afresh with a full bucket.
    assert.equal(l.blockedAt(t0 + 1000), 0);
    for (let i = 0; i < 5; i++) assert.equal(l.check(A, true, t0 + 1000), "pass");
    assert.equal(l.check(A, true, t0 + 1000), "newly-blocked");
  });

  it("a source at the rate is never blocked: the bucket refills at rate per second", () => {
    const l = limiter(10, 1000);
    // 10 requests per second, evenly spaced, for 5 s: exactly the rate.
    for (let t = 0; t < 5000; t += 100) assert.equal(l.check(A, true, t), "pass", `at ${t} ms`);
    // Twice the rate: blocked within the first second.
    const fast = limiter(10, 1000);
    let verdict = "pass";
    let t = 0;
    for (; t < 1000 && verdict === "pass"; t += 50) verdict = fast.check(A, true, t);
    assert.equal(verdict, "newly-blocked");
  });

  it("responses do not spend the bucket", () => {
    const l = limiter(2, 1000);
    for (let i = 0; i < 100; i++) assert.equal(l.check(A, false, 0), "pass");
    assert.equal(l.check(A, true, 0), "pass");
    assert.equal(l.check(A, true, 0), "pass");
    assert.equal(l.check(A, true, 0), "newly-blocked");
  });

  it("bounded memory: past maxSources the oldest source is forgotten", () => {
    const l = limiter(1, 60_000, 3);
    for (let i = 1; i <= 10; i++) l.check(`198.51.100.${i}`, true, 0);
    assert.equal(l.tracked, 3);
    // .1 was evicted long ago: it starts afresh; .10 is still tracked, its token spent.
    assert.equal(l.check("198.51.100.1", true, 0), "pass");
    assert.equal(l.check("198.51.100.10", true, 0), "newly-blocked");
    assert.equal(l.tracked, 3);
  });

  it("reconfigure to off forgets every source, blocked ones included", () => {
    const l = limiter(1, 60_000);
    l.check(A, true, 0);
    assert.equal(l.check(A, true, 0), "newly-blocked");
    l.reconfigure({ ratePerSecond: 0, blockMs: 60_000, maxSources: 100 });
    assert.equal(l.check(A, true, 1), "pass");
    assert.equal(l.tracked, 0);
  });
});

describe("once-per-key gate for log lines", () => {
  it("lets a key through once per window and reports how many it held back", () => {
    const g = new OncePerKey(60_000);
    assert.equal(g.pass(A, 0), 0);
    for (let i = 0; i < 99; i++) assert.equal(g.pass(A, 1000 + i), null);
    assert.equal(g.pass(B, 2000), 0, "another key is independent");
    assert.equal(g.pass(A, 59_999), null);
    assert.equal(g.pass(A, 60_000), 100);
    assert.equal(g.pass(A, 60_001), null);
  });

  it("is bounded: past maxKeys the oldest key is forgotten", () => {
    const g = new OncePerKey(60_000, 2);
    g.pass("a", 0);
    g.pass("b", 0);
    g.pass("c", 0);
    assert.equal(g.size, 2);
    assert.equal(g.pass("a", 1), 0, "a was forgotten, so it passes again");
    assert.equal(g.pass("c", 1), null);
  });
});
