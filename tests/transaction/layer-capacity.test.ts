import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TransactionLayer } from "../../src/transaction/layer.ts";
import { bytes, outgoing, request, response, runUntil } from "./helpers.ts";

describe("transaction limit", () => {
  it("admits new transactions up to the limit and again once one terminates", () => {
    const layer = new TransactionLayer<string>({ maxTransactions: 3 });
    const s = layer.createServer(request(), "uac", true);
    layer.createClient(outgoing("INVITE", "z9hG4bK-a"), "uas", true, 0);
    assert.equal(layer.canCreate(), true);
    assert.equal(layer.canCreate(2), false, "a server plus a client transaction no longer fit");
    layer.createClient(outgoing("INVITE", "z9hG4bK-b"), "uas", true, 0);
    assert.equal(layer.size, 3);
    assert.equal(layer.canCreate(), false, "the TU answers 503");
    // Retransmissions of existing transactions are still absorbed at the limit.
    assert.equal(layer.receiveRequest(request(), 1).kind, "absorbed");
    layer.respond(s, { status: 404, bytes: bytes("404") }, 2);
    layer.receiveRequest(request({ method: "ACK" }), 3); // Timer I = 0 over TCP
    assert.equal(layer.size, 2);
    assert.equal(layer.canCreate(), true);
  });

  it("rejects settings that would make timers meaningless", () => {
    assert.throws(() => new TransactionLayer({ t1: 0 }), RangeError);
    assert.throws(() => new TransactionLayer({ t2: Number.NaN }), RangeError);
    assert.throws(() => new TransactionLayer({ maxTransactions: -1 }), RangeError);
  });
});

describe("many live transactions", () => {
  it("runs 50,000 UDP client transactions (100,000 timers) to the right outcomes", () => {
    const layer = new TransactionLayer<number>({ maxTransactions: 200_000 });
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      layer.createClient(outgoing("INVITE", `z9hG4bK-${i}`), i, false, i % 1000);
    }
    assert.equal(layer.pendingTimers, 2 * n);
    // The clock runs to 1000 ms, then every other one is answered with 200: Timers A
    // and B go, Timer M comes.
    const early = runUntil(layer, 1000);
    for (let i = 0; i < n; i += 2) {
      const r = layer.receiveResponse(response(200, "INVITE", `z9hG4bK-${i}`), bytes(""), 1000);
      assert.equal(r.kind, "response");
    }
    assert.equal(layer.pendingTimers, n + n / 2);
    const log = early.concat(runUntil(layer, 200_000));
    const timeouts = new Set<number>();
    let retransmissions = 0;
    let terminated = 0;
    for (const { action } of log) {
      if (action.kind === "timeout") timeouts.add(action.tx.dest);
      else if (action.kind === "send") retransmissions++;
      else if (action.kind === "terminated") terminated++;
    }
    assert.equal(timeouts.size, n / 2);
    for (const dest of timeouts) assert.equal(dest % 2, 1, "only unanswered ones time out");
    // Unanswered: 6 retransmissions each. Answered: one (Timer A at start + 500) if they
    // started by 500 ms, none otherwise.
    let answeredEarly = 0;
    for (let i = 0; i < n; i += 2) if (i % 1000 <= 500) answeredEarly++;
    assert.equal(retransmissions, (n / 2) * 6 + answeredEarly);
    assert.equal(terminated, n);
    assert.equal(layer.size, 0);
    assert.equal(layer.pendingTimers, 0);
  });
});

describe("TU timers", () => {
  it("fire from the same queue and can be cancelled", () => {
    const layer = new TransactionLayer<string, string>();
    layer.setTimer(1000, "failover");
    const c = layer.setTimer(500, "timer C");
    layer.createClient(outgoing("OPTIONS"), "uas", true, 0);
    assert.equal(layer.nextDeadline(), 500);
    assert.equal(layer.clearTimer(c), true);
    assert.equal(layer.nextDeadline(), 1000);
    const log = runUntil(layer, 1000);
    assert.deepEqual(log.map((e) => e.action), [{ kind: "user-timer", payload: "failover" }]);
    assert.equal(layer.clearTimer(c), false);
  });
});
