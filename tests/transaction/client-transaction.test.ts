import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TransactionLayer } from "../../src/transaction/layer.ts";
import { bytes, kinds, outgoing, response, runUntil, sendTimes, sent } from "./helpers.ts";

const UDP = false;
const TCP = true;

describe("INVITE client transaction", () => {
  it("retransmits over UDP at doubling intervals until Timer B, then times out", () => {
    const layer = new TransactionLayer<string>();
    const { tx, actions } = layer.createClient(outgoing("INVITE"), "uas", UDP, 0);
    assert.deepEqual(sent(actions), ["INVITE z9hG4bK-px-1"]);
    assert.equal(actions[0].kind === "send" && actions[0].dest, "uas");
    const log = runUntil(layer, 100_000);
    assert.deepEqual(sendTimes(log), [500, 1500, 3500, 7500, 15500, 31500]);
    const end = log.filter((e) => e.action.kind !== "send");
    assert.deepEqual(end.map((e) => [e.at, e.action.kind]), [[32000, "timeout"], [
      32000,
      "terminated",
    ]]);
    assert.equal(end[0].action.kind === "timeout" && end[0].action.timer, "B");
    assert.equal(tx.state, "terminated");
    assert.equal(layer.size, 0);
  });

  it("follows a configured T1", () => {
    const layer = new TransactionLayer<string>({ t1: 100 });
    layer.createClient(outgoing("INVITE"), "uas", UDP, 1000);
    const log = runUntil(layer, 100_000);
    assert.deepEqual(sendTimes(log), [1100, 1300, 1700, 2500, 4100, 7300]);
    assert.equal(log.find((e) => e.action.kind === "timeout")?.at, 1000 + 6400);
  });

  it("never retransmits over TCP but still times out with Timer B", () => {
    const layer = new TransactionLayer<string>();
    layer.createClient(outgoing("INVITE"), "uas", TCP, 0);
    const log = runUntil(layer, 100_000);
    assert.deepEqual(kinds(log.map((e) => e.action)), ["timeout", "terminated"]);
    assert.equal(log[0].at, 32000);
  });

  it("stops retransmitting on a provisional and has no timeout in Proceeding", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("INVITE"), "uas", UDP, 0);
    runUntil(layer, 600); // one retransmission
    const r = layer.receiveResponse(response(100), bytes("100"), 700);
    assert.equal(r.kind, "response");
    assert.equal(tx.state, "proceeding");
    const r180 = layer.receiveResponse(response(180), bytes("180"), 800);
    assert.equal(r180.kind, "response", "each provisional reaches the TU");
    assert.deepEqual(runUntil(layer, 200_000), []);
    assert.equal(tx.state, "proceeding", "Timer C is the proxy's business");
  });

  it("sends the ACK itself for a non-2xx final and absorbs its retransmissions", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("INVITE"), "uas", UDP, 0);
    layer.receiveResponse(response(180), bytes("180"), 100);
    const first = layer.receiveResponse(response(486), bytes("486"), 200);
    assert.equal(first.kind, "response");
    assert.deepEqual(sent(first.actions), ["ACK z9hG4bK-px-1 for 486"]);
    assert.equal(tx.state, "completed");
    assert.equal(tx.lastStatus, 486);
    for (const at of [700, 1700]) {
      const again = layer.receiveResponse(response(486), bytes("486"), at);
      assert.equal(again.kind, "absorbed", "the TU sees the final once");
      assert.deepEqual(sent(again.actions), ["ACK z9hG4bK-px-1 for 486"]);
    }
    // Timer D: 32 s after the final, over UDP.
    assert.deepEqual(runUntil(layer, 32199), []);
    const log = runUntil(layer, 32200);
    assert.deepEqual(kinds(log.map((e) => e.action)), ["terminated"]);
    assert.equal(layer.receiveResponse(response(486), bytes("486"), 40000).kind, "unmatched");
  });

  it("terminates right after the ACK over TCP (Timer D is 0)", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("INVITE"), "uas", TCP, 0);
    const r = layer.receiveResponse(response(503), bytes("503"), 10);
    assert.equal(r.kind, "response");
    assert.deepEqual(kinds(r.actions), ["send", "terminated"]);
    assert.equal(tx.state, "terminated");
    assert.equal(layer.pendingTimers, 0);
  });

  it("goes Accepted on 2xx and hands every 2xx to the TU until Timer M (RFC 6026)", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("INVITE"), "uas", UDP, 0);
    const ok = layer.receiveResponse(response(200), bytes("200"), 100);
    assert.equal(ok.kind, "response");
    assert.deepEqual(ok.actions, [], "the 2xx ACK is end-to-end, not ours");
    assert.equal(tx.state, "accepted");
    assert.equal(layer.receiveResponse(response(200), bytes("200"), 600).kind, "response");
    assert.equal(layer.receiveResponse(response(200), bytes("200"), 1600).kind, "response");
    assert.equal(layer.receiveResponse(response(486), bytes("486"), 1700).kind, "absorbed");
    const log = runUntil(layer, 100_000);
    assert.deepEqual(log.map((e) => [e.at, e.action.kind]), [[100 + 32000, "terminated"]]);
  });

  it("reports a transport error and terminates", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("INVITE"), "uas", UDP, 0);
    assert.deepEqual(kinds(layer.transportError(tx)), ["transport-error", "terminated"]);
    assert.equal(layer.pendingTimers, 0);
    assert.deepEqual(layer.transportError(tx), [], "reported once");
  });

  it("refuses an INVITE without an ACK builder and a branch without the cookie", () => {
    const layer = new TransactionLayer<string>();
    assert.throws(() =>
      layer.createClient({ method: "INVITE", branch: "z9hG4bK-1", bytes: bytes("x") }, "u", UDP, 0)
    );
    assert.throws(() => layer.createClient(outgoing("OPTIONS", "abc"), "u", UDP, 0));
    assert.equal(layer.size, 0);
  });
});

describe("non-INVITE client transaction", () => {
  it("retransmits over UDP with Timer E doubling up to T2, and times out with Timer F", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("OPTIONS"), "uas", UDP, 0);
    const log = runUntil(layer, 100_000);
    assert.deepEqual(
      sendTimes(log),
      [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
    );
    const timeout = log.find((e) => e.action.kind === "timeout");
    assert.equal(timeout?.at, 32000);
    assert.equal(timeout?.action.kind === "timeout" && timeout.action.timer, "F");
    assert.equal(tx.state, "terminated");
  });

  it("never retransmits over TCP but times out with Timer F", () => {
    const layer = new TransactionLayer<string>();
    layer.createClient(outgoing("BYE"), "uas", TCP, 0);
    const log = runUntil(layer, 100_000);
    assert.deepEqual(log.map((e) => [e.at, e.action.kind]), [[32000, "timeout"], [
      32000,
      "terminated",
    ]]);
  });

  it("keeps retransmitting at T2 in Proceeding, still bounded by Timer F", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("REGISTER"), "uas", UDP, 0);
    assert.equal(
      layer.receiveResponse(response(100, "REGISTER"), bytes("100"), 100).kind,
      "response",
    );
    assert.equal(tx.state, "proceeding");
    const log = runUntil(layer, 100_000);
    // The first E (due at 500) was set in Trying; from then on the interval is T2.
    assert.deepEqual(sendTimes(log), [500, 4500, 8500, 12500, 16500, 20500, 24500, 28500]);
    assert.equal(log.find((e) => e.action.kind === "timeout")?.at, 32000);
  });

  it("delivers the final once, absorbs retransmissions for Timer K, then terminates", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("BYE"), "uas", UDP, 0);
    const final = layer.receiveResponse(response(200, "BYE"), bytes("200"), 300);
    assert.equal(final.kind, "response");
    assert.deepEqual(final.actions, []);
    assert.equal(tx.state, "completed");
    assert.equal(layer.receiveResponse(response(200, "BYE"), bytes("200"), 900).kind, "absorbed");
    const log = runUntil(layer, 100_000);
    assert.deepEqual(log.map((e) => [e.at, e.action.kind]), [[300 + 5000, "terminated"]]);
  });

  it("terminates on the final at once over TCP (Timer K is 0)", () => {
    const layer = new TransactionLayer<string>();
    layer.createClient(outgoing("BYE"), "uas", TCP, 0);
    const final = layer.receiveResponse(response(404, "BYE"), bytes("404"), 300);
    assert.equal(final.kind, "response");
    assert.deepEqual(kinds(final.actions), ["terminated"]);
    assert.equal(layer.size, 0);
    assert.equal(layer.pendingTimers, 0);
  });
});
