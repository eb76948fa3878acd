// Which new calls vipless lets in while overloaded (proxy/call-admission.ts): the share
// refused follows its saturation, and ends at once when the offered rate falls below
// what it carried while saturated (the calls right after an overload).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CallAdmission } from "../../src/proxy/call-admission.ts";

const STEP_MS = 250;

/**
 * Offers `perSecond` new calls evenly over one step from `t`, then ends the step
 * (saturated or not); returns how many were refused and the time after it.
 */
function offerStep(
  a: CallAdmission,
  t: number,
  perSecond: number,
  saturated: boolean,
): { refused: number; offered: number; t: number } {
  const n = Math.round((perSecond * STEP_MS) / 1000);
  let refused = 0;
  for (let i = 0; i < n; i++) if (!a.admits(t + (i * STEP_MS) / n)) refused++;
  t += STEP_MS;
  a.step(STEP_MS, 1, saturated);
  return { refused, offered: n, t };
}

/** A random source that always draws 0: every call the gate lets through the loss is refused. */
const always = () => 0;

/** A seeded uniform random source (mulberry32), so that a share refused is the same every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe("CallAdmission", () => {
  test("while saturated the share refused rises by 10 points a step, and falls after", () => {
    const a = new CallAdmission(always);
    let t = 0;
    for (let i = 1; i <= 4; i++) {
      t = offerStep(a, t, 4000, true).t;
      assert.equal(a.loss, 10 * i);
    }
    t = offerStep(a, t, 4000, false).t;
    assert.equal(a.loss, 30);
    // A quiet gap of two steps counts as two steps without saturation.
    a.step(2 * STEP_MS, 2, false);
    assert.equal(a.loss, 10);
  });

  test("the offered rate above what was let in while saturated: calls are refused", () => {
    const a = new CallAdmission(() => 0.5); // refused when the loss is above 50 %
    let t = 0;
    for (let i = 0; i < 6; i++) t = offerStep(a, t, 4000, true).t; // loss 60 %
    assert.equal(a.loss, 60);
    const s = offerStep(a, t, 4000, true);
    assert.equal(s.refused, s.offered, "every call the loss draws is refused");
  });

  test("the share refused is bounded by the rate carried without saturation", () => {
    const a = new CallAdmission(seeded(7));
    let t = 0;
    // 2,000 calls/s carried for a second, not saturated: a rate vipless is known to
    // carry (less than a second is not enough: the BYEs of those calls are to come).
    for (let i = 0; i < 3; i++) t = offerStep(a, t, 2000, false).t;
    assert.equal(a.safeRate, 0);
    t = offerStep(a, t, 2000, false).t;
    assert.equal(a.safeRate, 2000);
    // Twice that offered, saturated: the share climbs, but never refuses more than
    // brings the calls let in down to 90 % of 2,000/s: 1 - 1,800 / 4,000 = 55 %.
    let refused = 0, offered = 0;
    for (let i = 0; i < 12; i++) {
      const s = offerStep(a, t, 4000, true);
      t = s.t;
      if (i >= 6) (refused += s.refused), (offered += s.offered);
      assert.ok(a.loss <= 10 * (i + 1), `step ${i}: ${a.loss} %`);
    }
    // Saturated at the bound, the known rate fades 3 % a step: the bound rises slowly.
    assert.ok(a.loss >= 55 && a.loss <= 65, `${a.loss} % after 12 steps`);
    const share = refused / offered;
    assert.ok(share > 0.5 && share < 0.66, `${(100 * share).toFixed(1)} % refused at the bound`);
    // The overload ends: a quarter of it offered, below the known rate. The loss has not
    // come down (vipless is still saturated by its backlog); the first 100 ms tell the
    // lower rate, and from then on no new call is refused.
    t = offerStep(a, t, 1000, true).t;
    const after = offerStep(a, t, 1000, true);
    assert.equal(after.refused, 0, "no call refused below the known rate");
    // Below the bound the share does not wind up: a step above it, once the rate is
    // offered again, and climbing from there.
    assert.equal(a.loss, 0);
    const again = [1, 2, 3].map(() => {
      const s = offerStep(a, after.t, 4000, true);
      after.t = s.t;
      return s.refused;
    });
    assert.ok(again[0]! > 20 && again[0]! < again[2]!, `refused again: ${again}`);
  });

  test("the known rate fades: after a long quiet time, a saturation can refuse every new call", () => {
    const a = new CallAdmission(always);
    let t = 0;
    for (let i = 0; i < 4; i++) t = offerStep(a, t, 2000, false).t;
    a.step(100_000, 400, false); // 1 % a step: 2 % of it left after 100 s
    assert.ok(a.safeRate > 30 && a.safeRate < 40, `${a.safeRate} calls/s still known`);
    a.step(1_000_000, 4000, false);
    assert.ok(a.safeRate < 1e-6);
    // Saturated with nothing let in (only in-dialog traffic saturates): every new call refused.
    for (let i = 0; i < 10; i++) a.step(STEP_MS, 1, true);
    assert.equal(a.loss, 100);
    assert.equal(offerStep(a, t + 2_000_000, 40, true).refused, 10);
  });

  test("spare time on the main thread cuts the loss at once; never while saturated", () => {
    const a = new CallAdmission(always);
    for (let i = 0; i < 8; i++) a.step(STEP_MS, 1, true);
    assert.equal(a.loss, 80);
    a.spare(10_000, () => true, () => 0.1);
    assert.equal(a.loss, 80, "saturated: no cut");
    a.spare(10_100, () => false, () => 0.9);
    assert.equal(a.loss, 80, "busy above 85 %: no cut");
    // Busy 10 % with a fifth of the calls let in: five fifths fit in 85 % of busy.
    a.spare(10_200, () => false, () => 0.1);
    assert.equal(a.loss, 0);
  });
});
