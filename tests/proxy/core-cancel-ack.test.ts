// CANCEL (RFC 3261 §9, §16.10) and ACK (§16.7, §17.1.1.3) through the proxy core.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADVERTISE, answer, BACKUP, followUp, Harness, PRIMARY, request, UAC } from "./harness.ts";
import { hostPort, one, requests, responses, summary, to } from "./harness.ts";

/** The UAC's INVITE forwarded to the primary. */
function call(h = new Harness()) {
  const invite = request("INVITE");
  const fwd = one(requests(h.receive(invite), "INVITE"));
  return { h, invite, fwd };
}

describe("CANCEL", () => {
  test("after a provisional: 200 to the caller at once, CANCEL downstream on the INVITE's branch", () => {
    const { h, invite, fwd } = call();
    h.receive(answer(fwd.msg, 180), PRIMARY);
    const out = h.receive(followUp(invite, "CANCEL"));
    const ok = one(responses(to(out, UAC)), "answer to the CANCEL");
    assert.equal(ok.msg.status, 200);
    assert.equal(ok.msg.cseq!.method, "CANCEL");
    const cancel = one(requests(to(out, PRIMARY), "CANCEL"), "CANCEL downstream");
    assert.equal(cancel.msg.topVia!.branch, fwd.msg.topVia!.branch);
    assert.equal(cancel.msg.requestUri, fwd.msg.requestUri);
    assert.equal(cancel.msg.vias.length, 1, "a CANCEL carries our Via only");
  });

  test("before any provisional (§9.1): no CANCEL downstream until the 180 arrives", () => {
    const { h, invite, fwd } = call();
    const out = h.receive(followUp(invite, "CANCEL"));
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [200]);
    assert.deepEqual(summary(requests(out, "CANCEL")), []);
    const later = h.receive(answer(fwd.msg, 180), PRIMARY);
    const cancel = one(requests(to(later, PRIMARY), "CANCEL"), "CANCEL once the 180 came");
    assert.equal(cancel.msg.topVia!.branch, fwd.msg.topVia!.branch);
  });

  test("the 487 is ACKed downstream and relayed; the caller's ACK is absorbed", () => {
    const { h, invite, fwd } = call();
    h.receive(answer(fwd.msg, 180), PRIMARY);
    const out = h.receive(followUp(invite, "CANCEL"));
    const cancel = one(requests(out, "CANCEL"));
    assert.deepEqual(
      summary(h.receive(answer(cancel.msg, 200), PRIMARY)),
      [],
      "200 (CANCEL) stays",
    );
    const fin = h.receive(answer(fwd.msg, 487), PRIMARY);
    const ack = one(requests(to(fin, PRIMARY), "ACK"), "ACK for the 487");
    assert.equal(ack.msg.topVia!.branch, fwd.msg.topVia!.branch);
    assert.equal(ack.msg.to?.tag, "uas-1");
    const up = one(responses(to(fin, UAC)), "487 to the caller");
    assert.equal(up.msg.status, 487);
    assert.equal(up.msg.cseq!.method, "INVITE");
    assert.deepEqual(summary(h.receive(followUp(invite, "ACK", "uas-1"))), []);
  });

  test("a CANCEL after the final answer gets 200 and goes nowhere (§9.2: no effect)", () => {
    const { h, invite, fwd } = call();
    h.receive(answer(fwd.msg, 180), PRIMARY);
    const fin = h.receive(answer(fwd.msg, 486), PRIMARY);
    assert.equal(one(responses(to(fin, UAC))).msg.status, 486);
    const out = h.receive(followUp(invite, "CANCEL"));
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [200]);
    assert.deepEqual(summary(requests(out, "CANCEL")), [], "nothing sent downstream");
  });

  test("a 200 (INVITE) crossing the CANCEL is relayed, and no 487 is invented", () => {
    const { h, invite, fwd } = call();
    h.receive(answer(fwd.msg, 180), PRIMARY);
    const out = h.receive(followUp(invite, "CANCEL"));
    const cancel = one(requests(out, "CANCEL"));
    const ok = h.receive(answer(fwd.msg, 200), PRIMARY);
    assert.deepEqual(responses(to(ok, UAC)).map((s) => s.msg.status), [200]);
    assert.equal(one(responses(to(ok, UAC))).msg.cseq!.method, "INVITE");
    // The callee's 200 for the CANCEL itself is ours to absorb.
    assert.deepEqual(summary(h.receive(answer(cancel.msg, 200), PRIMARY)), []);
    const rest = h.advance(200_000);
    assert.deepEqual(summary(responses(to(rest, UAC), 487)), []);
  });

  test("a CANCEL while the INVITE waits on a silent member ends it with 487", () => {
    const { h, invite } = call();
    h.receive(followUp(invite, "CANCEL"));
    const out = h.advance(1_000);
    assert.deepEqual(
      summary(requests(to(out, BACKUP), "INVITE")),
      [],
      "no failover once cancelled",
    );
    // The member stays silent: the INVITE still gets its 100 Trying after 200 ms.
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [100, 487]);
  });

  test("a CANCEL that matches no transaction is forwarded statelessly", () => {
    const h = new Harness();
    const out = h.receive(request("CANCEL"));
    const fwd = one(requests(out, "CANCEL"), "forwarded CANCEL");
    assert.equal(fwd.dest.host, PRIMARY.host);
    assert.equal(fwd.msg.topVia!.host, ADVERTISE);
    assert.match(fwd.msg.topVia!.branch ?? "", /^z9hG4bK/);
    assert.deepEqual(summary(responses(out)), [], "no local answer");
    // Its answer goes back along the Vias.
    const back = one(h.receive(answer(fwd.msg, 481), PRIMARY));
    assert.equal(back.msg.status, 481);
    assert.deepEqual(hostPort(back), { host: UAC.host, port: UAC.port });
  });
});

describe("ACK", () => {
  test("a non-2xx final is ACKed by us downstream; the caller's ACK is absorbed", () => {
    const { h, invite, fwd } = call();
    const out = h.receive(answer(fwd.msg, 486), PRIMARY);
    const ack = one(requests(to(out, PRIMARY), "ACK"));
    assert.equal(ack.msg.requestUri, fwd.msg.requestUri);
    assert.equal(ack.msg.cseq!.seq, fwd.msg.cseq!.seq);
    assert.equal(ack.msg.topVia!.branch, fwd.msg.topVia!.branch);
    assert.deepEqual(summary(h.receive(followUp(invite, "ACK", "uas-1"))), []);
  });

  test("a retransmitted non-2xx final is ACKed again and the caller gets it again", () => {
    const { h, fwd } = call();
    const busy = answer(fwd.msg, 486);
    h.receive(busy, PRIMARY);
    const again = h.receive(busy, PRIMARY);
    assert.equal(requests(to(again, PRIMARY), "ACK").length, 1);
  });

  test("the ACK for a 2xx is forwarded end to end along its route", () => {
    const { h, fwd } = call();
    h.receive(answer(fwd.msg, 200), PRIMARY);
    const ack = request("ACK", {
      uri: "sip:bob@10.0.0.11:5060",
      toTag: "uas-1",
      routes: [`<sip:${ADVERTISE};lr>`],
    });
    const out = h.receive(ack);
    const fwdAck = one(requests(out, "ACK"), "forwarded ACK");
    assert.equal(fwdAck.dest.host, PRIMARY.host);
    assert.equal(fwdAck.msg.topVia!.host, ADVERTISE);
    assert.equal(fwdAck.msg.vias.length, 2);
    assert.equal(fwdAck.msg.has("Route"), false);
    assert.deepEqual(summary(responses(out)), [], "an ACK is never answered");
  });

  test("a retransmitted 2xx ACK leaves with the same branch (stateless forwarding)", () => {
    const h = new Harness();
    const ack = request("ACK", { uri: "sip:bob@10.0.0.11:5060", toTag: "uas-1" });
    const a = one(requests(h.receive(ack), "ACK"));
    const b = one(requests(h.receive(ack), "ACK"));
    assert.equal(a.msg.topVia!.branch, b.msg.topVia!.branch);
  });
});
