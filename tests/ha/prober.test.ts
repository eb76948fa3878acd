import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ProbeOutcome, Prober } from "../../src/ha/prober.ts";
import { gaps, member, seededRandom } from "./harness.ts";

const TIMING = { interval: 1000, forceInterval: 500, timeout: 500 };

function setup(seed = 7, fast = () => false) {
  const results: Array<{ key: string; outcome: ProbeOutcome; now: number }> = [];
  const prober = new Prober(TIMING, {
    isFast: fast,
    onResult: (key, outcome, now) => results.push({ key, outcome, now }),
  }, seededRandom(seed));
  return { prober, results };
}

const target = (host: string) => ({ pair: "p", role: "primary" as const, member: member(host) });

/** A prober with one member "a" whose first probe, due at `t`, has just been sent. */
function firstProbeSent() {
  const { prober, results } = setup();
  prober.add("a", target("10.0.0.1"), 0);
  const t = prober.nextDeadline();
  const [req] = prober.due(t);
  return { prober, results, t, req };
}

/** Drives the prober, answering every probe at once, and returns send times per key. */
function run(prober: Prober, until: number, answer = true): Map<string, number[]> {
  const sent = new Map<string, number[]>();
  let now = 0;
  for (let i = 0; i < 10_000; i++) {
    now = prober.nextDeadline();
    if (now > until) break;
    for (const r of prober.due(now)) {
      sent.set(r.key, [...(sent.get(r.key) ?? []), now]);
      if (answer) prober.onAnswer(r.id, 200, now);
    }
  }
  return sent;
}

describe("Prober", () => {
  it("spreads the first probe of each member over the first interval", () => {
    const { prober } = setup(3);
    for (let i = 0; i < 20; i++) prober.add(`m${i}`, target(`10.0.0.${i}`), 0);
    const firsts = [...run(prober, 999).values()].map((t) => t[0]);
    assert.equal(firsts.length, 20, "every member probed within the first interval");
    assert.ok(new Set(firsts).size > 10, "first probes are spread, not simultaneous");
  });

  it("probes each member every interval, jittered by at most 10%", () => {
    const { prober } = setup();
    prober.add("a", target("10.0.0.1"), 0);
    prober.add("b", target("10.0.0.2"), 0);
    const sent = run(prober, 60_000);
    for (const times of sent.values()) {
      assert.ok(times.length >= 54 && times.length <= 67, `count ${times.length}`);
      for (const g of gaps(times)) assert.ok(g >= 900 && g <= 1100, `gap ${g}`);
      assert.ok(new Set(gaps(times)).size > 1, "the gaps are jittered");
    }
  });

  it("uses force_interval for members whose pair is out of service", () => {
    const { prober } = setup(5, () => true);
    prober.add("a", target("10.0.0.1"), 0);
    const times = run(prober, 10_000).get("a")!;
    for (const g of gaps(times)) assert.ok(g >= 450 && g <= 550, `gap ${g}`);
  });

  it("counts an unanswered probe as a timeout at its deadline and ignores a late answer", () => {
    const { prober, results } = setup();
    prober.add("a", target("10.0.0.1"), 0);
    const [req] = prober.due(prober.nextDeadline());
    assert.equal(prober.isInFlight("a"), true);
    assert.equal(prober.nextDeadline(), req.deadline, "the glue is woken for the timeout");
    assert.deepEqual(prober.due(req.deadline - 1), [], "no second probe while one is in flight");
    assert.equal(results.length, 0);
    prober.due(req.deadline);
    assert.deepEqual(results, [{
      key: "a",
      outcome: { kind: "miss", cause: "timeout" },
      now: req.deadline,
    }]);
    assert.equal(prober.onAnswer(req.id, 200, req.deadline + 5), false);
    assert.equal(results.length, 1);
  });

  it("reports answers with their round trip, and transport errors as misses", () => {
    const { prober, results } = setup();
    prober.add("a", target("10.0.0.1"), 0);
    const t = prober.nextDeadline();
    const [first] = prober.due(t);
    assert.equal(prober.onAnswer(first.id, 200, t + 42), true);
    assert.deepEqual(results[0].outcome, { kind: "answer", statusCode: 200, rttMs: 42 });
    assert.equal(prober.onAnswer(first.id, 200, t + 43), false, "answered once only");
    const t2 = prober.nextDeadline();
    const [second] = prober.due(t2);
    assert.equal(prober.onTransportError(second.id, t2), true);
    assert.deepEqual(results[1].outcome, { kind: "miss", cause: "transport-error" });
    assert.equal(prober.onTransportError(9999, t2), false);
  });

  it("probes a member at once when asked, without doubling a probe in flight", () => {
    const { prober, t, req } = firstProbeSent();
    prober.onAnswer(req.id, 200, t + 10);
    prober.probeNow("a", t + 20);
    assert.equal(prober.nextDeadline(), t + 20);
    const [again] = prober.due(t + 20);
    assert.equal(again.key, "a");
    prober.probeNow("a", t + 30);
    assert.deepEqual(prober.due(t + 30), [], "the probe in flight serves");
  });

  it("expedite pulls the next probe in to the fast cadence", () => {
    const { prober, t, req } = firstProbeSent();
    prober.onAnswer(req.id, 200, t + 10);
    assert.ok(prober.nextDueAt("a")! >= t + 900);
    prober.expedite("a", t + 10);
    const next = prober.nextDueAt("a")!;
    assert.ok(next >= t + 450 && next <= t + 550, `next ${next - t}`);
  });

  it("forgets removed members and ignores their answers", () => {
    const { prober, results, t, req } = firstProbeSent();
    prober.remove("a");
    assert.equal(prober.onAnswer(req.id, 200, t + 1), false);
    assert.equal(prober.nextDeadline(), Infinity);
    assert.equal(results.length, 0);
  });
});
