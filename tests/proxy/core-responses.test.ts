// Responses through the proxy core: relaying provisionals and finals with our Via
// removed, dropping what is not ours, and the best final answer (§16.7). When vipless
// sends its own 100 Trying: core-delayed-trying.test.ts.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADVERTISE, answer, BACKUP, Harness, PRIMARY, request, UAC } from "./harness.ts";
import { hostPort, one, requests, responses, summary, to } from "./harness.ts";

/** An INVITE from the UAC forwarded to the primary; returns the harness and the forward. */
function started(): { h: Harness; fwd: ReturnType<typeof one> } {
  const h = new Harness();
  return { h, fwd: one(requests(h.receive(request("INVITE")), "INVITE")) };
}

describe("provisional responses", () => {
  test("a 180 is relayed with our Via removed", () => {
    const { h, fwd } = started();
    const up = one(h.receive(answer(fwd.msg, 180), PRIMARY));
    assert.equal(up.msg.status, 180);
    assert.deepEqual(hostPort(up), { host: UAC.host, port: UAC.port });
    assert.equal(up.msg.vias.length, 1);
    assert.equal(up.msg.topVia!.host, "uac.example.com");
    assert.equal(up.msg.to?.tag, "uas-1");
  });

  test("a downstream 100 is not relayed", () => {
    const { h, fwd } = started();
    assert.deepEqual(summary(h.receive(answer(fwd.msg, 100), PRIMARY)), []);
  });

  test("a response whose top Via is not ours is dropped and counted", () => {
    const { h, fwd } = started();
    const foreign = answer(fwd.msg, 200).replace(
      `Via: SIP/2.0/UDP ${ADVERTISE}`,
      "Via: SIP/2.0/UDP elsewhere.example.net",
    );
    assert.deepEqual(summary(h.receive(foreign, PRIMARY)), []);
    assert.deepEqual(h.drops, ["via-not-ours"]);
  });
});

describe("final responses", () => {
  test("a 200 is relayed with our Via removed", () => {
    const { h, fwd } = started();
    const up = one(h.receive(answer(fwd.msg, 200), PRIMARY));
    assert.equal(up.msg.status, 200);
    assert.equal(up.dest.host, UAC.host);
    assert.equal(up.msg.vias.length, 1);
    assert.equal(up.msg.topVia!.host, "uac.example.com");
  });

  test("a 486 is final: relayed, ACKed downstream, and no other member is tried", () => {
    const { h, fwd } = started();
    const out = h.receive(answer(fwd.msg, 486), PRIMARY);
    const ack = one(requests(to(out, PRIMARY), "ACK"), "ACK for the 486");
    assert.equal(ack.msg.topVia!.branch, fwd.msg.topVia!.branch, "same branch as the INVITE");
    assert.equal(one(responses(to(out, UAC))).msg.status, 486);
    assert.deepEqual(summary(requests(h.advance(60_000), "INVITE")), []);
    assert.deepEqual(h.forwardFailures, []);
  });
});

describe("best response over the hops (§16.7 step 6)", () => {
  /** Primary answers `first`, backup answers `second`; returns what reached the caller. */
  function finals(first: number, second: number): { statuses: number[]; h: Harness } {
    const { h, fwd } = started();
    const out = h.receive(answer(fwd.msg, first, { toTag: "p" }), PRIMARY);
    const next = requests(to(out, BACKUP), "INVITE");
    assert.equal(next.length, 1, `the backup is tried after a ${first}`);
    const last = h.receive(answer(next[0]!.msg, second, { toTag: "b" }), BACKUP);
    const statuses = responses(to([...out, ...last], UAC)).map((s) => s.msg.status);
    return { statuses, h };
  }

  test("a 503 then a 486: the 486 goes up", () => {
    assert.deepEqual(finals(503, 486).statuses, [486]);
  });

  test("a 503 then a 603: the 6xx goes up", () => {
    assert.deepEqual(finals(503, 603).statuses, [603]);
  });

  test("a 408 then a 503: the lower class (408) goes up", () => {
    assert.deepEqual(finals(408, 503).statuses, [408]);
  });

  test("a 503 from every hop is answered 500, not 503", () => {
    const { statuses, h } = finals(503, 503);
    assert.deepEqual(statuses, [500]);
    assert.deepEqual(h.localResponses, [500]);
  });

  test("a 6xx ends the search at once", () => {
    const { h, fwd } = started();
    const out = h.receive(answer(fwd.msg, 600), PRIMARY);
    assert.deepEqual(summary(requests(to(out, BACKUP), "INVITE")), []);
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [600]);
  });
});

describe("every 2xx goes up (RFC 6026)", () => {
  test("a 2xx from the backup after a failover, then a late 2xx from the primary: both relayed", () => {
    const { h, fwd } = started();
    const failover = requests(to(h.advance(1_000), BACKUP), "INVITE");
    const toBackup = one(failover, "INVITE to the backup");
    const first = h.receive(answer(toBackup.msg, 200, { toTag: "backup" }), BACKUP);
    assert.deepEqual(responses(to(first, UAC)).map((s) => s.msg.to?.tag), ["backup"]);
    const late = h.receive(answer(fwd.msg, 200, { toTag: "primary" }), PRIMARY);
    assert.deepEqual(responses(to(late, UAC)).map((s) => s.msg.to?.tag), ["primary"]);
  });

  test("a retransmitted 2xx is relayed again", () => {
    const { h, fwd } = started();
    const ok = answer(fwd.msg, 200);
    assert.equal(responses(to(h.receive(ok, PRIMARY), UAC), 200).length, 1);
    assert.equal(responses(to(h.receive(ok, PRIMARY), UAC), 200).length, 1);
  });
});
