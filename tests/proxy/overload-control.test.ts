// RFC 7339 overload control, the pure parts: the loss vipless asks its clients for,
// the oc parameters written into a client's Via, and the per-member loss throttle.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  MemberThrottles,
  OverloadSignal,
  throttleable,
  wantsOc,
  withOcParams,
} from "../../src/proxy/overload-control.ts";
import { parseMessage, parseVia } from "../../src/sip/index.ts";
import { seededRandom } from "../support/random.ts";
import { request } from "./harness.ts";

const M = { host: "10.0.0.11", port: 5060 };

function params(text: string): Map<string, string | null> {
  return parseVia(`SIP/2.0/UDP vipless.test;branch=z9hG4bKx${text}`).params;
}

describe("OverloadSignal (vipless as the overloaded server)", () => {
  test("with spare time on the main thread the loss is cut at once to what it carries", () => {
    const s = new OverloadSignal({ validityMs: 1000, stepMs: 250, seqOffsetMs: 0 });
    // Six steps saturated, the last at t.
    let t = 0;
    for (let i = 0; i < 6; i++) s.observe(t = i * 250, () => true);
    assert.equal(s.loss, 60);
    // Busy all of the time (an overload, or the backlog after one): 10 points a step only.
    for (let i = 0; i < 4; i++) s.observe(t += 50, () => false, () => 1);
    assert.equal(s.loss, 60, "between steps, no cut while the thread is busy");
    // A step later: busy 80 % with 50 % accepted: 50 % * 0.85 / 0.8 = 53.1 % carried.
    s.observe(t += 50, () => false, () => 1);
    assert.equal(s.loss, 50, "the step: 10 points down");
    s.observe(t += 50, () => false, () => 0.8);
    assert.equal(s.loss, 46);
    s.observe(t += 10, () => false, () => 0.1);
    assert.equal(s.loss, 46, "at most one cut per 50 ms, the busy sample's period");
    // Busy 40 % with 54 % accepted: everything is carried; the half load after an
    // overload is let in.
    s.observe(t += 50, () => false, () => 0.4);
    assert.equal(s.loss, 0);
  });

  test("no cut while saturated, nor where the busy share is unknown", () => {
    const s = new OverloadSignal({ validityMs: 1000, stepMs: 250, seqOffsetMs: 0 });
    let t = 0;
    for (let i = 0; i < 4; i++) s.observe(t = i * 250, () => true);
    assert.equal(s.loss, 40);
    s.observe(t += 50, () => true, () => 0.1);
    assert.equal(s.loss, 40, "the delay signs win: a queue behind an idle loop is still a queue");
    s.observe(t += 50, () => false, () => null);
    assert.equal(s.loss, 40);
  });

  test("asks for more loss while saturated, less after, and says oc=0 whenever not overloaded", () => {
    const s = new OverloadSignal({ validityMs: 1000, stepMs: 250, seqOffsetMs: 1_700_000_000_000 });
    // RFC 7339 §4.1, §5.1: a value (0 when not overloaded) to every client that offers oc.
    assert.equal(s.params(), 'oc=0;oc-algo="loss";oc-validity=0;oc-seq=1700000000.000');
    let t = 0;
    for (; t < 1000; t += 50) s.observe(t, () => true);
    assert.equal(s.loss, 40, "four steps of 10 points in one second");
    const during = s.params()!;
    assert.match(during, /^oc=40;oc-algo="loss";oc-validity=1000;oc-seq=\d{10}\.\d{3}$/);
    for (; t < 3000; t += 250) s.observe(t, () => false);
    assert.equal(s.loss, 0, "down 10 points a step");
    const ended = s.params();
    // Back to 0 at t=1750: that step names the end (§5.7: the server MUST increment oc-seq).
    assert.equal(ended, 'oc=0;oc-algo="loss";oc-validity=0;oc-seq=1700000001.750');
    s.observe(t + 10_000, () => false);
    assert.equal(s.params(), ended, "still oc=0, with the oc-seq of the end");
  });

  test("oc-seq grows at every step of an overload, and at its end, and only then", () => {
    const s = new OverloadSignal({ validityMs: 500, stepMs: 100, seqOffsetMs: 5_000 });
    const seqOf = () => Number(/oc-seq=([\d.]+)/.exec(s.params())?.[1]);
    const idle = seqOf();
    assert.equal(idle, 5, "a timestamp: the epoch of monotonic 0");
    s.observe(0, () => true);
    const first = seqOf();
    assert.ok(first > idle);
    s.observe(50, () => true); // not a step yet
    assert.equal(seqOf(), first);
    s.observe(100, () => true);
    assert.ok(seqOf() > first);
    for (let t = 200; t < 2000; t += 100) s.observe(t, () => true);
    const atMax = seqOf();
    s.observe(2000, () => true);
    assert.equal(s.loss, 100);
    // RFC 7339 §5.4: a client restarts the validity only on a larger oc-seq.
    assert.ok(seqOf() > atMax, "the same loss of 100, a new oc-seq: clients renew it");
    for (let t = 2100; t < 3100; t += 100) s.observe(t, () => false);
    assert.equal(s.loss, 0);
    const end = seqOf();
    s.observe(3100, () => false);
    s.observe(5000, () => false);
    assert.equal(seqOf(), end, "no overload, nothing new");
  });

  test('oc-seq is `1*12DIGIT "." 1*5DIGIT` (RFC 7339 §9)', () => {
    const s = new OverloadSignal({ validityMs: 500, stepMs: 100, seqOffsetMs: 1_282_321_615_782 });
    assert.match(s.params(), /;oc-seq=1282321615\.782$/);
    s.observe(0, () => true);
    assert.match(s.params(), /;oc-seq=\d{1,12}\.\d{1,5}$/);
  });

  test("a quiet gap counts as steps without saturation", () => {
    const s = new OverloadSignal({ validityMs: 500, stepMs: 100, seqOffsetMs: 0 });
    for (let t = 0; t < 500; t += 100) s.observe(t, () => true);
    assert.equal(s.loss, 50);
    s.observe(1400, () => false); // 10 steps later
    assert.equal(s.loss, 0);
  });
});

describe("the oc parameters of a client's Via", () => {
  test("a client supports the loss algorithm with oc, and oc-algo naming loss or none", () => {
    assert.equal(wantsOc(params("")), false);
    assert.equal(wantsOc(params(";oc")), true);
    assert.equal(wantsOc(params(';oc;oc-algo="loss,A"')), true);
    assert.equal(wantsOc(params(';oc;oc-algo="rate"')), false);
  });

  test("the old oc parameters are replaced, every other byte kept", () => {
    const raw =
      'SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK1;oc;oc-algo="loss,A";rport=5062;x="a;b"';
    assert.equal(
      withOcParams(raw, 'oc=20;oc-algo="loss";oc-validity=500;oc-seq=1.000'),
      'SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK1;rport=5062;x="a;b";' +
        'oc=20;oc-algo="loss";oc-validity=500;oc-seq=1.000',
    );
    // What it writes parses back as the parameters it meant.
    const v = parseVia(withOcParams(raw, "oc=0;oc-validity=0"));
    assert.equal(v.params.get("oc"), "0");
    assert.equal(v.params.get("x"), '"a;b"');
    assert.equal(v.params.has("oc-algo"), false);
  });
});

describe("MemberThrottles (vipless as the client of an overloaded member)", () => {
  test("oc=N drops about N% of new requests for oc-validity, then none", () => {
    const t = new MemberThrottles(seededRandom(3));
    const change = t.onAnswer(M, params(';oc=30;oc-algo="loss";oc-validity=1000;oc-seq=10.5'), 0);
    assert.deepEqual(change, { kind: "throttle", loss: 30, validityMs: 1000 });
    for (let i = 0; i < 200; i++) t.admits(M, 500, true); // the first window counts the mix
    let refused = 0;
    for (let i = 0; i < 2000; i++) if (!t.admits(M, 500, true)) refused++;
    assert.ok(refused > 2000 * 0.25 && refused < 2000 * 0.35, `refused ${refused} of 2000`);
    assert.equal(
      t.admits({ host: "10.0.0.12", port: 5060 }, 500, true),
      true,
      "other members untouched",
    );
    for (let i = 0; i < 100; i++) {
      assert.equal(t.admits(M, 1000, true), true, "expired at oc-validity");
    }
    assert.equal(t.size, 0, "an expired throttle leaves no state");
  });

  test("oc=N is N% of all requests (§5.3), taken from the new ones alone (§7.2)", () => {
    const t = new MemberThrottles(seededRandom(5));
    t.onAnswer(M, params(";oc=20;oc-validity=10000;oc-seq=1.0"), 0);
    // One new request in three (an INVITE, its ACK, its BYE): 60% of the new ones go.
    const send = (n: number, from: number) => {
      let refused = 0, candidates = 0;
      for (let i = from; i < from + n; i++) {
        const candidate = i % 3 === 0;
        if (candidate) candidates++;
        if (!t.admits(M, 1, candidate)) refused++;
      }
      return { refused, candidates };
    };
    const first = send(198, 0);
    // Before a window was counted, §7.2's default mix (80% candidates): 25% of them.
    assert.ok(first.refused < first.candidates * 0.45, `${first.refused} of ${first.candidates}`);
    const { refused } = send(3000, 198);
    assert.ok(refused > 3000 * 0.16 && refused < 3000 * 0.24, `refused ${refused} of 3000`);
    // Above the share, every new request and nothing else: never a BYE or an ACK.
    t.onAnswer(M, params(";oc=50;oc-validity=10000;oc-seq=2.0"), 2);
    for (let i = 0; i < 300; i++) assert.equal(t.admits(M, 3, i % 3 === 0), i % 3 !== 0);
  });

  test("oc=100 refuses every new request; oc=0 or oc-validity=0 stops at once", () => {
    const t = new MemberThrottles(seededRandom(4));
    t.onAnswer(M, params(";oc=100;oc-validity=5000"), 0);
    for (let i = 0; i < 50; i++) assert.equal(t.admits(M, 10, true), false);
    assert.deepEqual(t.onAnswer(M, params(";oc=0"), 20), { kind: "stop" });
    assert.equal(t.admits(M, 21, true), true);
    t.onAnswer(M, params(";oc=100;oc-validity=5000"), 30);
    assert.deepEqual(t.onAnswer(M, params(";oc=50;oc-validity=0"), 40), { kind: "stop" });
    assert.equal(t.admits(M, 41, true), true);
  });

  test("without oc-validity the RFC's 500 ms apply; an endless one is capped at 10 s", () => {
    const t = new MemberThrottles(() => 0);
    t.onAnswer(M, params(";oc=100"), 0);
    assert.equal(t.admits(M, 499, true), false);
    assert.equal(t.admits(M, 500, true), true);
    // `"oc-validity" [EQUAL delta-ms]` (§9): a bare oc-validity is the default too.
    t.onAnswer(M, params(";oc=100;oc-validity"), 1000);
    assert.equal(t.admits(M, 1499, true), false);
    assert.equal(t.admits(M, 1500, true), true);
    t.onAnswer(M, params(";oc=100;oc-validity=9999999999"), 0);
    assert.equal(t.admits(M, 9_999, true), false);
    assert.equal(t.admits(M, 10_000, true), true);
  });

  test("an older oc-seq (reordered answer) is ignored; the same one does not renew the validity (§5.4)", () => {
    const t = new MemberThrottles(() => 0);
    t.onAnswer(M, params(";oc=50;oc-validity=1000;oc-seq=20.000"), 0);
    assert.equal(t.onAnswer(M, params(";oc=0;oc-seq=19.999"), 10), null);
    assert.equal(t.admits(M, 20, true), false, "still throttled");
    assert.equal(t.onAnswer(M, params(";oc=70;oc-validity=5000;oc-seq=20.000"), 900), null);
    assert.equal(t.admits(M, 999, true), false, "the values held stay");
    assert.equal(t.admits(M, 1000, true), true, "and so does their expiry: not renewed at 900");
    t.onAnswer(M, params(";oc=50;oc-validity=1000;oc-seq=20.000"), 2000);
    assert.deepEqual(
      t.onAnswer(M, params(";oc=50;oc-validity=1000;oc-seq=20.001"), 2900),
      null,
      "a larger oc-seq with the same loss: nothing to tell",
    );
    assert.equal(t.admits(M, 3800, true), false, "renewed at 2900 until 3900");
    assert.equal(t.admits(M, 3900, true), true);
  });

  test("oc-seq compares exactly, its fraction as a decimal fraction", () => {
    const t = new MemberThrottles(() => 0);
    t.onAnswer(M, params(";oc=50;oc-validity=1000;oc-seq=1282321615.78"), 0);
    assert.deepEqual(
      t.onAnswer(M, params(";oc=60;oc-validity=1000;oc-seq=1282321615.782"), 10),
      { kind: "throttle", loss: 60, validityMs: 1000 },
      ".782 is after .78",
    );
    assert.equal(t.onAnswer(M, params(";oc=0;oc-seq=1282321615.78200"), 20), null, "the same");
    // 17 digits: one double would make these equal.
    t.onAnswer(M, params(";oc=10;oc-validity=1000;oc-seq=999999999999.99998"), 3000);
    assert.deepEqual(
      t.onAnswer(M, params(";oc=20;oc-validity=1000;oc-seq=999999999999.99999"), 3010),
      { kind: "throttle", loss: 20, validityMs: 1000 },
    );
  });

  test("once the validity expired, the stored oc-seq is gone too (§5.4: reset)", () => {
    const t = new MemberThrottles(() => 0);
    t.onAnswer(M, params(";oc=50;oc-validity=1000;oc-seq=900.000"), 0);
    // E.g. a member that restarted with a sequence of its own (or one that overflowed).
    assert.deepEqual(
      t.onAnswer(M, params(";oc=30;oc-validity=1000;oc-seq=1.000"), 1000),
      { kind: "throttle", loss: 30, validityMs: 1000 },
    );
    assert.equal(t.admits(M, 1999, true), false);
  });

  test("malformed or foreign oc values change nothing and say why", () => {
    const t = new MemberThrottles(() => 0);
    for (
      const bad of [
        ";oc=150",
        ";oc=abc",
        ';oc=10;oc-algo="rate"',
        ";oc=10;oc-validity=-1",
        ";oc=10;oc-seq=x",
        ";oc=10;oc-seq",
        ";oc=10;oc-seq=1.123456",
      ]
    ) {
      assert.equal(t.onAnswer(M, params(bad), 0)?.kind, "invalid", bad);
    }
    assert.equal(t.onAnswer(M, params(";oc"), 0), null, "a bare oc only says it supports oc");
    assert.equal(t.size, 0);
    assert.equal(t.admits(M, 1, true), true);
  });
});

describe("which requests the loss algorithm may refuse", () => {
  const msg = (method: string, o: Parameters<typeof request>[1] = {}) =>
    parseMessage(new TextEncoder().encode(request(method, o)));
  test("new out-of-dialog requests only, never an emergency or priority call", () => {
    assert.equal(throttleable(msg("INVITE")), true);
    assert.equal(throttleable(msg("MESSAGE")), true);
    assert.equal(throttleable(msg("INVITE", { toTag: "t" })), false, "in-dialog");
    assert.equal(throttleable(msg("BYE", { toTag: "t" })), false);
    assert.equal(throttleable(msg("ACK")), false);
    assert.equal(throttleable(msg("CANCEL")), false);
    assert.equal(
      throttleable(msg("INVITE", { headers: [["Resource-Priority", "esnet.1"]] })),
      false,
    );
    assert.equal(
      throttleable(msg("INVITE", { headers: [["Resource-Priority", "dsn.flash"]] })),
      true,
    );
  });
});
