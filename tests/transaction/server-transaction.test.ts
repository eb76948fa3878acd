import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TransactionLayer } from "../../src/transaction/layer.ts";
import type { ServerTransaction } from "../../src/transaction/server-transaction.ts";
import type { RequestFacts } from "../../src/transaction/facts.ts";
import { bytes, kinds, request, runUntil, sendTimes, sent } from "./helpers.ts";

const UDP = false;
const TCP = true;

/** A layer holding one server transaction for `req`, created the way the TU does. */
function serve(
  req: RequestFacts,
  reliable = UDP,
  layer = new TransactionLayer<string>(),
): { layer: TransactionLayer<string>; tx: ServerTransaction<string> } {
  const r = layer.receiveRequest(req, 0);
  assert.equal(r.kind, "new");
  return { layer, tx: layer.createServer(req, "uac", reliable) };
}

const ack = (overrides: Partial<RequestFacts> = {}) => request({ method: "ACK", ...overrides });

describe("INVITE server transaction", () => {
  it("answers a retransmitted INVITE with the last provisional, without telling the TU", () => {
    const { layer, tx } = serve(request());
    const none = layer.receiveRequest(request(), 50);
    assert.equal(none.kind, "absorbed", "nothing sent yet, still not a new request");
    assert.deepEqual(none.actions, []);
    assert.deepEqual(sent(layer.respond(tx, { status: 100, bytes: bytes("100") }, 60)), ["100"]);
    assert.deepEqual(sent(layer.receiveRequest(request(), 500).actions), ["100"]);
    layer.respond(tx, { status: 180, bytes: bytes("180") }, 600);
    const again = layer.receiveRequest(request(), 1500);
    assert.equal(again.kind, "absorbed");
    assert.deepEqual(sent(again.actions), ["180"]);
    assert.equal(tx.state, "proceeding");
  });

  it("retransmits a non-2xx final with Timer G up to T2, until Timer H reports a timeout", () => {
    const { layer, tx } = serve(request());
    const out = layer.respond(tx, { status: 486, bytes: bytes("486") }, 0);
    assert.deepEqual(sent(out), ["486"]);
    assert.equal(tx.state, "completed");
    const log = runUntil(layer, 100_000);
    assert.deepEqual(
      sendTimes(log),
      [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
    );
    const end = log.filter((e) => e.action.kind !== "send");
    assert.deepEqual(end.map((e) => [e.at, e.action.kind]), [[32000, "timeout"], [
      32000,
      "terminated",
    ]]);
    assert.equal(end[0].action.kind === "timeout" && end[0].action.timer, "H");
  });

  it("answers a retransmitted INVITE in Completed with the final", () => {
    const { layer, tx } = serve(request());
    layer.respond(tx, { status: 404, bytes: bytes("404") }, 0);
    const r = layer.receiveRequest(request(), 200);
    assert.equal(r.kind, "absorbed");
    assert.deepEqual(sent(r.actions), ["404"]);
  });

  it("stops retransmitting on the ACK, absorbs ACKs for Timer I, then terminates", () => {
    const { layer, tx } = serve(request());
    layer.respond(tx, { status: 486, bytes: bytes("486") }, 0);
    runUntil(layer, 1600); // two retransmissions
    const a = layer.receiveRequest(ack(), 2000);
    assert.equal(a.kind, "absorbed", "the ACK of a non-2xx is hop-by-hop");
    assert.deepEqual(a.actions, []);
    assert.equal(tx.state, "confirmed");
    assert.equal(layer.receiveRequest(ack(), 2500).kind, "absorbed");
    assert.deepEqual(
      layer.receiveRequest(request(), 2600).actions,
      [],
      "Confirmed resends nothing",
    );
    const log = runUntil(layer, 100_000);
    assert.deepEqual(log.map((e) => [e.at, e.action.kind]), [[2000 + 5000, "terminated"]]);
  });

  it("over TCP sends the final once and terminates on the ACK (Timer I is 0)", () => {
    const { layer, tx } = serve(request(), TCP);
    layer.respond(tx, { status: 486, bytes: bytes("486") }, 0);
    assert.equal(layer.nextDeadline(), 32000, "only Timer H is pending");
    const a = layer.receiveRequest(ack(), 100);
    assert.deepEqual(kinds(a.actions), ["terminated"]);
    assert.equal(layer.pendingTimers, 0);
  });

  it("goes Accepted on 2xx, absorbs retransmitted INVITEs and passes TU 2xx retransmissions", () => {
    const { layer, tx } = serve(request());
    assert.deepEqual(sent(layer.respond(tx, { status: 200, bytes: bytes("200 a") }, 0)), ["200 a"]);
    assert.equal(tx.state, "accepted");
    const re = layer.receiveRequest(request(), 500);
    assert.equal(re.kind, "absorbed");
    assert.deepEqual(re.actions, [], "the 2xx is retransmitted end to end, not by us");
    assert.deepEqual(sent(layer.respond(tx, { status: 200, bytes: bytes("200 b") }, 600)), [
      "200 b",
    ]);
    assert.deepEqual(layer.respond(tx, { status: 487, bytes: bytes("487") }, 700), []);
    const log = runUntil(layer, 100_000);
    assert.deepEqual(log.map((e) => [e.at, e.action.kind]), [[32000, "terminated"]], "Timer L");
  });

  it("hands an ACK that matches an Accepted INVITE to the TU", () => {
    const { layer, tx } = serve(request());
    layer.respond(tx, { status: 200, bytes: bytes("200") }, 0);
    const a = layer.receiveRequest(ack(), 100);
    assert.equal(a.kind, "ack");
    assert.equal(a.kind === "ack" && a.tx, tx);
    assert.equal(tx.state, "accepted");
  });

  it("informs the TU of a transport error but stays Accepted", () => {
    const { layer, tx } = serve(request());
    layer.respond(tx, { status: 200, bytes: bytes("200") }, 0);
    assert.deepEqual(kinds(layer.transportError(tx)), ["transport-error"]);
    assert.equal(tx.state, "accepted");
    assert.equal(layer.receiveRequest(request(), 100).kind, "absorbed");
  });

  it("terminates on a transport error in Completed", () => {
    const { layer, tx } = serve(request());
    layer.respond(tx, { status: 480, bytes: bytes("480") }, 0);
    assert.deepEqual(kinds(layer.transportError(tx)), ["transport-error", "terminated"]);
    assert.equal(layer.receiveRequest(request(), 100).kind, "new");
  });

  it("discards TU responses once a non-2xx final was sent", () => {
    const { layer, tx } = serve(request());
    layer.respond(tx, { status: 486, bytes: bytes("486") }, 0);
    assert.deepEqual(layer.respond(tx, { status: 200, bytes: bytes("200") }, 10), []);
    assert.equal(tx.lastStatus, 486);
  });
});

describe("non-INVITE server transaction", () => {
  const bye = (o: Partial<RequestFacts> = {}) => request({ method: "BYE", toTag: "to-1", ...o });

  it("absorbs retransmissions silently in Trying and answers them in Proceeding", () => {
    const { layer, tx } = serve(bye());
    assert.equal(tx.state, "trying");
    const r = layer.receiveRequest(bye(), 500);
    assert.equal(r.kind, "absorbed");
    assert.deepEqual(r.actions, []);
    layer.respond(tx, { status: 183, bytes: bytes("183") }, 600);
    assert.equal(tx.state, "proceeding");
    assert.deepEqual(sent(layer.receiveRequest(bye(), 1500).actions), ["183"]);
  });

  it("answers retransmissions with the final until Timer J (64*T1 over UDP)", () => {
    const { layer, tx } = serve(bye());
    layer.respond(tx, { status: 200, bytes: bytes("200") }, 100);
    assert.equal(tx.state, "completed");
    assert.deepEqual(sent(layer.receiveRequest(bye(), 600).actions), ["200"]);
    assert.deepEqual(layer.respond(tx, { status: 500, bytes: bytes("500") }, 700), []);
    const log = runUntil(layer, 100_000);
    assert.deepEqual(log.map((e) => [e.at, e.action.kind]), [[100 + 32000, "terminated"]]);
    assert.equal(layer.receiveRequest(bye(), 40000).kind, "new");
  });

  it("terminates on the final at once over TCP (Timer J is 0)", () => {
    const { layer, tx } = serve(bye(), TCP);
    const out = layer.respond(tx, { status: 200, bytes: bytes("200") }, 100);
    assert.deepEqual(kinds(out), ["send", "terminated"]);
    assert.equal(layer.size, 0);
  });
});
