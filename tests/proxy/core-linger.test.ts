// A finished call costs only its lingering transactions (issue 10): the response
// context and its branches are let go with the final answer, while the transactions
// still absorb retransmissions for the RFC's timers, and a late 2xx still goes up.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { answer, Harness, one, PRIMARY, request, requests, responses, to, UAC } from "./harness.ts";
import { T1 } from "./harness.ts";

function call(h: Harness) {
  const invite = request("INVITE");
  const fwd = one(requests(h.receive(invite), "INVITE"));
  const ok = answer(fwd.msg, 200, { toTag: "uas" });
  h.receive(ok, PRIMARY);
  return { invite, fwd, ok };
}

describe("a finished call", () => {
  test("keeps no context or branch, only transactions that absorb retransmissions", () => {
    const h = new Harness();
    h.allUp();
    call(h);
    assert.deepEqual(h.core.liveContexts, { open: 0, branches: 0 });
    assert.equal(h.core.txl.size, 2, "the INVITE's server and client transactions linger");
    assert.equal(h.core.txl.lingeringCount, 2);
  });

  test("a 2xx retransmitted 20 s later is still relayed to the caller (Timer M)", () => {
    const h = new Harness();
    h.allUp();
    const { ok } = call(h);
    h.advance(20_000);
    const relayed = responses(to(h.receive(ok, PRIMARY), UAC), 200);
    assert.equal(relayed.length, 1);
    assert.equal(relayed[0]!.msg.vias.length, 1, "our Via is removed");
  });

  test("a retransmitted INVITE is absorbed silently while Accepted, then everything ends", () => {
    const h = new Harness();
    h.allUp();
    const { invite } = call(h);
    assert.deepEqual(h.receive(invite), [], "RFC 6026: nothing is sent for it");
    h.advance(64 * T1);
    assert.equal(h.core.txl.size, 0);
    assert.equal(h.core.txl.pendingTimers, 0);
  });
});
