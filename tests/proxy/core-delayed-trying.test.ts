// When vipless sends its own 100 Trying to an INVITE (RFC 3261 §17.2.1): only when the
// member has not answered within 200 ms (or T1, if lower), at once to a retransmission.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TRYING_DELAY_MS } from "../../src/proxy/delayed-trying.ts";
import { answer, Harness, PRIMARY, request, type Sent, UAC } from "./harness.ts";
import { one, requests, responses, to } from "./harness.ts";

/** The 100s vipless sent the caller in `sent`. */
function tryings(sent: Sent[]): Sent[] {
  return responses(to(sent, UAC), 100);
}

describe("vipless's own 100 Trying", () => {
  test("a member silent for 200 ms: the caller gets one 100 Trying then, and only then", () => {
    const h = new Harness();
    one(requests(h.receive(request("INVITE")), "INVITE"));
    assert.deepEqual(tryings(h.advance(TRYING_DELAY_MS - 1)), [], "none before 200 ms");
    const trying = one(tryings(h.advance(1)), "100 Trying");
    assert.equal(trying.msg.vias.length, 1, "the caller's Via only");
    assert.equal(trying.msg.to?.tag, null, "a 100 Trying carries no To tag");
    assert.deepEqual(tryings(h.advance(400)), [], "one 100, not one per tick");
  });

  for (const status of [180, 200, 486]) {
    test(`a ${status} relayed within 200 ms: no 100 Trying is ever sent`, () => {
      const h = new Harness();
      const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
      h.advance(50);
      const up = one(to(h.receive(answer(fwd.msg, status), PRIMARY), UAC));
      assert.equal(up.msg.status, status);
      assert.deepEqual(tryings(h.advance(2_000)), []);
    });
  }

  test("a retransmitted INVITE before the 100 went: the 100 goes at once, and once", () => {
    const h = new Harness();
    const invite = request("INVITE");
    h.receive(invite);
    h.advance(100);
    const trying = one(tryings(h.receive(invite)), "100 Trying for the retransmission");
    assert.equal(trying.at, h.now);
    assert.deepEqual(tryings(h.advance(TRYING_DELAY_MS)), [], "the deferred one is not owed");
    assert.equal(tryings(h.receive(invite)).length, 1, "a later one: the 100 resent");
  });

  test("T1 below 200 ms: the 100 goes after T1", () => {
    const h = new Harness({ settings: { t1Ms: 80 } });
    h.receive(request("INVITE"));
    assert.deepEqual(tryings(h.advance(79)), []);
    assert.equal(tryings(h.advance(1)).length, 1);
  });

  test("an INVITE vipless refuses itself gets its final answer and no 100", () => {
    const h = new Harness({ settings: { maxInviteRate: 1 } });
    h.receive(request("INVITE", { callId: "first" }));
    const refused = tryings(h.receive(request("INVITE", { callId: "second" })));
    assert.deepEqual(refused, []);
    const later = to(h.advance(TRYING_DELAY_MS), UAC).map((s) => s.msg.callId);
    assert.deepEqual(later, ["first"], "only the forwarded INVITE's 100");
  });

  test("while vipless sheds calls, an INVITE it lets in gets its 100 Trying at once", () => {
    const h = new Harness();
    h.allUp();
    h.saturated = true;
    for (let i = 0; i < 5; i++) {
      h.receive(request("OPTIONS", { maxForwards: 0 }));
      h.advance(250);
    }
    // About half of the new calls are refused now: the first one let in.
    let out: Sent[] = [];
    for (let i = 0; i < 50 && requests(out, "INVITE").length === 0; i++) {
      out = h.receive(request("INVITE"));
    }
    assert.equal(requests(out, "INVITE").length, 1, "an INVITE let in");
    assert.equal(tryings(out).length, 1, "its 100 Trying at once");
  });

  test("a non-INVITE left unanswered gets no 100 (RFC 3261 §16.2)", () => {
    const h = new Harness();
    one(requests(h.receive(request("OPTIONS")), "OPTIONS"));
    assert.deepEqual(tryings(h.advance(TRYING_DELAY_MS * 3)), []);
  });
});
