import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TransactionLayer } from "../../src/transaction/layer.ts";
import { bytes, outgoing, request, response } from "./helpers.ts";

const UDP = false;

describe("client matching (RFC 3261 §17.1.3)", () => {
  it("matches by branch and CSeq method, so a CANCEL and its INVITE stay apart", () => {
    const layer = new TransactionLayer<string>();
    const invite = layer.createClient(outgoing("INVITE", "z9hG4bK-b1"), "uas", UDP, 0).tx;
    const cancel = layer.createClient(outgoing("CANCEL", "z9hG4bK-b1"), "uas", UDP, 0).tx;
    assert.equal(layer.findClient("z9hG4bK-b1", "INVITE"), invite);
    const r1 = layer.receiveResponse(response(200, "CANCEL", "z9hG4bK-b1"), bytes("200"), 10);
    assert.equal(r1.kind === "response" && r1.tx, cancel);
    assert.equal(invite.state, "calling");
    const r2 = layer.receiveResponse(response(487, "INVITE", "z9hG4bK-b1"), bytes("487"), 20);
    assert.equal(r2.kind === "response" && r2.tx, invite);
  });

  it("compares branches case-insensitively and leaves unknown responses to the TU", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("OPTIONS", "z9hG4bK-AbC"), "uas", UDP, 0);
    const r = layer.receiveResponse(response(200, "OPTIONS", "Z9HG4BK-abc"), bytes("200"), 1);
    assert.equal(r.kind === "response" && r.tx, tx);
    assert.equal(
      layer.receiveResponse(response(200, "OPTIONS", "z9hG4bK-x"), bytes(""), 1).kind,
      "unmatched",
    );
    assert.equal(
      layer.receiveResponse(response(200, "INFO", "z9hG4bK-abc"), bytes(""), 1).kind,
      "unmatched",
    );
  });

  it("refuses a second client transaction with the same branch and method", () => {
    const layer = new TransactionLayer<string>();
    layer.createClient(outgoing("OPTIONS"), "uas", UDP, 0);
    assert.throws(() => layer.createClient(outgoing("OPTIONS"), "uas", UDP, 0));
  });
});

describe("server matching (RFC 3261 §17.2.3)", () => {
  it("tells the same branch from different sent-by apart", () => {
    const layer = new TransactionLayer<string>();
    layer.createServer(request(), "uac", UDP);
    assert.equal(layer.receiveRequest(request(), 1).kind, "absorbed");
    assert.equal(layer.receiveRequest(request({ sentBy: "192.0.2.9:5060" }), 1).kind, "new");
    assert.equal(layer.receiveRequest(request({ branch: "z9hG4bK-uac-2" }), 1).kind, "new");
    assert.equal(layer.receiveRequest(request({ branch: "Z9HG4BK-UAC-1" }), 1).kind, "absorbed");
  });

  it("matches the ACK of a non-2xx to its INVITE and leaves other ACKs to the TU", () => {
    const layer = new TransactionLayer<string>();
    const tx = layer.createServer(request(), "uac", UDP);
    layer.respond(tx, { status: 486, bytes: bytes("486") }, 0);
    const a = layer.receiveRequest(request({ method: "ACK" }), 10);
    assert.equal(a.kind === "absorbed" && a.tx, tx);
    const stray = layer.receiveRequest(request({ method: "ACK", branch: "z9hG4bK-ack2xx" }), 10);
    assert.equal(stray.kind, "ack");
    assert.equal(stray.kind === "ack" && stray.tx, undefined);
    assert.equal(layer.serverCount, 1, "an ACK never creates a transaction");
  });

  it("makes a CANCEL its own transaction and finds the INVITE it cancels", () => {
    const layer = new TransactionLayer<string>();
    const invite = layer.createServer(request(), "uac", UDP);
    const cancel = request({ method: "CANCEL" });
    const r = layer.receiveRequest(cancel, 10);
    assert.equal(r.kind, "new");
    assert.equal(r.kind === "new" && r.cancelTarget, invite);
    const ctx = layer.createServer(cancel, "uac", UDP);
    assert.notEqual(ctx, invite);
    layer.respond(ctx, { status: 200, bytes: bytes("200 cancel") }, 11);
    assert.equal(invite.state, "proceeding", "answering the CANCEL leaves the INVITE alone");
    assert.equal(layer.receiveRequest(cancel, 12).kind, "absorbed");
    const orphan = layer.receiveRequest(request({ method: "CANCEL", branch: "z9hG4bK-zz" }), 13);
    assert.equal(orphan.kind === "new" && orphan.cancelTarget, undefined);
  });

  it("forgets a terminated transaction, so a late request is new again", () => {
    const layer = new TransactionLayer<string>();
    const tx = layer.createServer(request({ method: "OPTIONS" }), "uac", true);
    layer.respond(tx, { status: 200, bytes: bytes("200") }, 0);
    assert.equal(layer.receiveRequest(request({ method: "OPTIONS" }), 1).kind, "new");
  });
});

describe("RFC 2543 matching (branch without z9hG4bK)", () => {
  const old = {
    branch: "",
    viaKey: "SIP/2.0/UDP 198.51.100.7:5060",
    sentBy: "198.51.100.7:5060",
  };

  it("matches a retransmitted INVITE on Request-URI, tags, Call-ID, CSeq and Via", () => {
    const layer = new TransactionLayer<string>();
    const tx = layer.createServer(request(old), "uac", UDP);
    layer.respond(tx, { status: 100, bytes: bytes("100") }, 0);
    const again = layer.receiveRequest(request(old), 500);
    assert.equal(again.kind === "absorbed" && again.tx, tx);
    assert.equal(layer.receiveRequest(request({ ...old, cseq: 2 }), 1).kind, "new");
    assert.equal(layer.receiveRequest(request({ ...old, callId: "other" }), 1).kind, "new");
    assert.equal(layer.receiveRequest(request({ ...old, fromTag: "f9" }), 1).kind, "new");
    assert.equal(layer.receiveRequest(request({ ...old, viaKey: "SIP/2.0/UDP x" }), 1).kind, "new");
    assert.equal(layer.receiveRequest(request({ ...old, requestUri: "sip:x@y" }), 1).kind, "new");
    // A branch that lacks the cookie does not make the RFC 3261 rules apply.
    const withOldBranch = { ...old, branch: "1234" };
    const tx2 = layer.createServer(request({ ...withOldBranch, cseq: 7 }), "uac", UDP);
    assert.equal(layer.receiveRequest(request({ ...withOldBranch, cseq: 7 }), 1).kind, "absorbed");
    assert.equal(tx2.state, "proceeding");
  });

  it("matches the ACK by the To tag of the final response we sent", () => {
    const layer = new TransactionLayer<string>();
    const tx = layer.createServer(request(old), "uac", UDP);
    layer.respond(tx, { status: 486, bytes: bytes("486"), toTag: "uas-tag" }, 0);
    const wrong = layer.receiveRequest(request({ ...old, method: "ACK", toTag: "else" }), 10);
    assert.equal(wrong.kind, "ack");
    assert.equal(tx.state, "completed");
    const right = layer.receiveRequest(request({ ...old, method: "ACK", toTag: "uas-tag" }), 20);
    assert.equal(right.kind === "absorbed" && right.tx, tx);
    assert.equal(tx.state, "confirmed");
  });

  it("finds the INVITE a CANCEL cancels, while the CANCEL is its own transaction", () => {
    const layer = new TransactionLayer<string>();
    const invite = layer.createServer(request(old), "uac", UDP);
    const cancel = request({ ...old, method: "CANCEL" });
    const r = layer.receiveRequest(cancel, 10);
    assert.equal(r.kind === "new" && r.cancelTarget, invite);
    layer.createServer(cancel, "uac", UDP);
    assert.equal(layer.serverCount, 2);
    const otherCseq = layer.receiveRequest(request({ ...old, method: "CANCEL", cseq: 9 }), 11);
    assert.equal(otherCseq.kind === "new" && otherCseq.cancelTarget, undefined);
  });

  it("removes every key of a terminated RFC 2543 INVITE", () => {
    const layer = new TransactionLayer<string>();
    const tx = layer.createServer(request(old), "uac", true);
    layer.respond(tx, { status: 486, bytes: bytes("486"), toTag: "t" }, 0);
    layer.receiveRequest(request({ ...old, method: "ACK", toTag: "t" }), 1); // Timer I = 0 on TCP
    assert.equal(tx.state, "terminated");
    assert.equal(layer.size, 0);
    assert.equal(
      layer.receiveRequest(request({ ...old, method: "ACK", toTag: "t" }), 2).kind,
      "ack",
    );
    assert.equal(layer.receiveRequest(request(old), 3).kind, "new");
  });
});
