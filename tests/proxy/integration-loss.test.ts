// Lost datagrams on either side of vipless (UDP only: TCP does not lose them): a lost
// request is retransmitted by vipless's client transaction, a lost 2xx is retransmitted
// by the server and relayed by vipless, and the call completes either way.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Rig, RUNTIME, startRig, WAIT_MS } from "./integration-harness.ts";
import type { Received, ServerTx } from "../support/sip-peer.ts";
import { Dialog } from "../support/dialog.ts";
import {
  newCallId,
  parseMessage,
  sdpBody,
  type SipMessage,
  topBranch,
} from "../support/sip-text.ts";

const callee = (user: string) => `sip:${user}@site-a.example.com`;

function ofCall(callId: string, method: string) {
  return (r: Received) => r.msg.get("call-id") === callId && r.msg.method === method;
}

function requestsIn(rig: Rig, who: "primary" | "backup", callId: string, method: string) {
  return rig[who].received.filter((r) => r.msg.kind === "request" && ofCall(callId, method)(r));
}

describe(`proxy integration: message loss over udp (${RUNTIME})`, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({
      members: "udp",
      // T1 well below the failover timeout (500ms): a lost INVITE is retransmitted to the
      // same server before vipless would give up on it and try the backup.
      extraYaml: "sip: { t1: 100ms }",
      // The server retransmits an un-ACKed 2xx after 200ms, 400ms, ...
      primary: { t1: 200 },
    });
  });
  after(async () => {
    await rig?.stop();
  });

  it("a lost INVITE: vipless retransmits it and the primary answers the copy", async () => {
    const callId = newCallId();
    const ignored: ServerTx[] = [];
    rig.primary.onRequest = (tx) => {
      if (tx.req.method !== "INVITE" || tx.req.get("call-id") !== callId) return false;
      // The first copy is "lost": say nothing; answer when the retransmission arrives.
      ignored.push(tx);
      const branch = topBranch(tx.req);
      const from = rig.primary.received.length;
      rig.primary.waitFor(
        (r) => r.msg.method === "INVITE" && topBranch(r.msg) === branch,
        WAIT_MS,
        from,
      ).then(() => {
        rig.primary.respond(tx, 180);
        rig.primary.respond(tx, 200, { body: sdpBody("127.0.0.1", 40002) });
      }, () => {/* no retransmission: the call assertion below fails */});
      return true;
    };
    try {
      const r = await rig.ua.call(rig.proxy, { to: callee("bob"), callId, timeoutMs: WAIT_MS });
      assert.equal(r.status, 200);
      assert.equal(ignored.length, 1);
      assert.ok(ignored[0].retransmissions >= 1, "vipless retransmitted the INVITE");
      const copies = requestsIn(rig, "primary", callId, "INVITE");
      assert.ok(copies.length >= 2);
      assert.equal(new Set(copies.map((c) => topBranch(c.msg))).size, 1, "same transaction");
      assert.equal(requestsIn(rig, "backup", callId, "INVITE").length, 0, "no failover");
      await rig.primary.waitFor(ofCall(callId, "ACK"), WAIT_MS);
      assert.equal((await r.dialog!.bye({ timeoutMs: WAIT_MS })).status, 200);
    } finally {
      rig.primary.onRequest = undefined;
    }
  });

  it("a lost 200: the server retransmits it, vipless relays the copy, the ACK stops it", async () => {
    const callId = newCallId();
    // A raw INVITE (no client transaction in the UA), so that the UA can ignore the first
    // 200 as if the network had lost it.
    const text = rig.ua.buildRequestText("INVITE", {
      uri: callee("bob"),
      to: `<${callee("bob")}>`,
      callId,
      body: sdpBody(),
    });
    await rig.ua.send(text, rig.proxy);
    const is200 = (r: Received) => r.msg.status === 200 && r.msg.get("call-id") === callId;
    const first = await rig.ua.waitFor(is200, WAIT_MS);
    const second = await rig.ua.waitFor(is200, WAIT_MS, rig.ua.received.indexOf(first) + 1);
    const relayed: SipMessage = second.msg;
    assert.equal(relayed.getAll("via").length, 1, "vipless removed its Via from the copy");
    assert.equal(relayed.get("cseq"), first.msg.get("cseq"));
    assert.equal(relayed.get("to"), first.msg.get("to"), "the same 2xx, same To tag");
    const tx = rig.primary.serverTxs.find((t) => t.req.get("call-id") === callId)!;
    assert.equal(tx.acked, false);

    // Now the UA ACKs the copy along the route set; the server stops retransmitting.
    const dialog = Dialog.forUac(rig.ua, parseMessage(text), relayed);
    dialog.ack(1);
    await rig.primary.waitFor(ofCall(callId, "ACK"), WAIT_MS);
    assert.equal(tx.acked, true);
    assert.equal((await dialog.bye({ timeoutMs: WAIT_MS })).status, 200);
  });
});
