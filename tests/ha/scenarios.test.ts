// End-to-end behaviour of the HA core over simulated time: the glue loop of the
// harness sends every probe the prober asks for and delivers the members' replies.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Behaviour } from "./harness.ts";
import { answers, config, gaps, silent, Sim, SITE_A, T0 } from "./harness.ts";

const P = SITE_A.primary.uri;
const B = SITE_A.backup.uri;

/** Answers until `stopAt`, silent afterwards. */
const answersUntil = (stopAt: number): Behaviour => (now) =>
  now < stopAt ? { status: 200, delay: 20 } : "silent";

describe("failure detection", () => {
  it("a primary that stops answering is switched away from within interval × failures + timeout (+ jitter)", () => {
    // interval 1000, failures 2, timeout 500; jitter is ±10% of each of the 2 intervals.
    const bound = 1000 * 2 + 500 + 2 * 100;
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new Sim(config(), seed);
      const stopAt = sim.now + 5000 + seed * 37;
      sim.set(P, answersUntil(stopAt));
      const s = sim.runUntilEvent((e) => e.type === "switchover", 20_000);
      assert.ok(s && s.type === "switchover", `seed ${seed}: switched`);
      assert.equal(s.reason, "probe-timeout");
      assert.equal(s.to, B);
      const lastAnswer = sim.ha.snapshot(sim.now).pairs[0].members[0].lastAnswerAt!;
      const elapsed = s.at - Date.parse(lastAnswer);
      assert.ok(elapsed <= bound, `seed ${seed}: detected after ${elapsed} ms`);
      assert.ok(elapsed >= 500 + 900, `seed ${seed}: needs two misses, took ${elapsed} ms`);
      const types = sim.events.map((e) => e.type);
      assert.ok(types.indexOf("member-down") < types.indexOf("switchover"), "down comes first");
    }
  });

  it("with failures 3 a primary survives two consecutive misses", () => {
    const sim = new Sim(config({ failures: 3 }));
    let n = 0;
    // Every third probe is answered: never three misses in a row.
    sim.set(P, () => (n++ % 3 === 2 ? { status: 200, delay: 5 } : "silent"));
    sim.runFor(30_000);
    assert.equal(sim.eventsOf("switchover").length, 0);
    assert.equal(sim.eventsOf("member-down").length, 0);
  });
});

describe("flapping", () => {
  it("a member that alternates answers and misses is never declared down", () => {
    const sim = new Sim(config());
    let n = 0;
    sim.set(P, () => (n++ % 2 === 0 ? { status: 200, delay: 5 } : "silent"));
    sim.runFor(60_000);
    assert.ok(n >= 50, "it was probed all along");
    assert.equal(sim.eventsOf("member-down").length, 0);
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
  });

  it("a primary that goes down and up repeatedly causes one switchover and no switch-back", () => {
    const sim = new Sim(config());
    // 5 s answering, 5 s silent, over and over.
    sim.set(
      P,
      (now) => (Math.floor((now - T0) / 5000) % 2 === 0 ? { status: 200, delay: 5 } : "silent"),
    );
    sim.runFor(60_000);
    assert.ok(sim.eventsOf("member-down").length >= 3, "the primary did flap");
    assert.ok(
      sim.eventsOf("member-up").filter((e) => e.type === "member-up" && e.member === P).length >= 3,
    );
    assert.equal(sim.eventsOf("switchover").length, 1);
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
  });
});

describe("stickiness", () => {
  it("a recovered primary does not take traffic back", () => {
    const sim = new Sim(config());
    sim.set(P, silent);
    sim.runUntilEvent((e) => e.type === "switchover", 10_000);
    sim.set(P, answers());
    const up = sim.runUntilEvent((e) => e.type === "member-up" && e.member === P, 5000);
    assert.ok(up, "the primary came back");
    sim.runFor(30_000);
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    assert.deepEqual(sim.ha.nextHops("site-a"), [SITE_A.backup, SITE_A.primary]);
    assert.equal(sim.eventsOf("switchover").length, 1);
  });
});

describe("both members down", () => {
  it("goes out of service, probes at force_interval, and the first member to answer becomes active", () => {
    const sim = new Sim(config());
    sim.runFor(3000);
    sim.set(P, silent);
    sim.set(B, silent);
    const oos = sim.runUntilEvent((e) => e.type === "pair-out-of-service", 10_000);
    assert.ok(oos, "out of service");
    assert.equal(sim.ha.isInService("site-a"), false);
    assert.deepEqual(sim.ha.nextHops("site-a"), []);
    assert.equal(sim.eventsOf("switchover").length, 0, "no switch to a member that is down");

    const from = sim.now;
    sim.runFor(10_000);
    for (const uri of [P, B]) {
      // The fast cadence starts at once, not after the normal interval.
      const before: number = sim.sentTo(uri, -Infinity, oos.at - 1).at(-1)!;
      const next: number = sim.sentTo(uri, oos.at)[0];
      assert.ok(
        next <= Math.max(before + 550, oos.at),
        `${uri}: next probe ${next - before} ms later`,
      );
    }
    for (const uri of [P, B]) {
      const times = sim.sentTo(uri, from + 1000);
      assert.ok(times.length >= 16, `${uri}: ${times.length} probes in ~9 s`);
      for (const g of gaps(times)) assert.ok(g >= 450 && g <= 550, `${uri}: gap ${g}`);
    }

    sim.set(B, answers());
    const back = sim.runUntilEvent((e) => e.type === "switchover", 2000);
    assert.deepEqual(back && { ...back, at: 0 }, {
      type: "switchover",
      pair: "site-a",
      from: null,
      to: B,
      reason: "recovery",
      at: 0,
    });
    assert.deepEqual(sim.ha.nextHops("site-a"), [SITE_A.backup], "the primary is still down");

    sim.set(P, answers());
    const recoveredAt = sim.now;
    sim.runFor(10_000);
    assert.equal(sim.ha.pairState("site-a"), "active-backup", "sticky after recovery too");
    const times = sim.sentTo(B, recoveredAt + 1500);
    for (const g of gaps(times)) assert.ok(g >= 900 && g <= 1100, `normal cadence again: ${g}`);
  });

  it("a primary that fails before the backup ever answered leaves the pair out of service until it does", () => {
    const sim = new Sim(config());
    sim.set(P, silent);
    sim.set(B, silent);
    assert.ok(sim.runUntilEvent((e) => e.type === "pair-out-of-service", 10_000));
    sim.set(B, answers());
    const s = sim.runUntilEvent((e) => e.type === "switchover", 2000);
    assert.equal(s?.type === "switchover" && s.to, B);
  });
});
