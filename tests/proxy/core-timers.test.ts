// Time in the proxy core, on a fake clock: UDP retransmissions, Timer B / F, the
// failover timeout and serial failover to the other member of the pair.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { answer, Harness, request } from "./harness.ts";
import { B_BACKUP, B_PRIMARY, BACKUP, PRIMARY, SITE_A, T1, TIMER_B, UAC } from "./harness.ts";
import { one, requests, responses, summary, to } from "./harness.ts";

/** Failover far enough away that Timer B / F decide. */
const NO_FAILOVER = { settings: { failoverTimeoutMs: 10 * TIMER_B } };

describe("retransmission of a forwarded INVITE", () => {
  test("over UDP: T1, then doubling (500, 1000, 2000 … ms apart) until Timer B", () => {
    const h = new Harness(NO_FAILOVER);
    const start = h.now;
    h.receive(request("INVITE"));
    const sent = requests(to(h.advance(TIMER_B - 1), PRIMARY), "INVITE");
    const offsets = sent.map((s) => s.at - start);
    assert.deepEqual(offsets, [T1, 3 * T1, 7 * T1, 15 * T1, 31 * T1, 63 * T1]);
    // Retransmissions are the same request, same branch.
    for (const s of sent) assert.match(s.msg.topVia!.branch ?? "", /^z9hG4bK/);
    assert.equal(new Set(sent.map((s) => s.msg.topVia!.branch)).size, 1);
  });

  test("a provisional stops the retransmissions", () => {
    const h = new Harness(NO_FAILOVER);
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    h.receive(answer(fwd.msg, 180), PRIMARY);
    assert.deepEqual(summary(requests(h.advance(TIMER_B - 1), "INVITE")), []);
  });

  test("over TCP: never retransmitted", () => {
    const h = new Harness({ serve: "site-b", ...NO_FAILOVER });
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    assert.equal(fwd.dest.transport, "tcp");
    assert.deepEqual(summary(requests(h.advance(TIMER_B - 1), "INVITE")), []);
  });
});

describe("Timer B and Timer F", () => {
  test("INVITE: Timer B moves to the next hop with a new branch, then 408 when none is left", () => {
    const h = new Harness(NO_FAILOVER);
    const first = one(requests(h.receive(request("INVITE")), "INVITE"));
    const start = h.now;
    const atB = h.advance(TIMER_B);
    const second = one(requests(to(atB, BACKUP), "INVITE"), "INVITE to the backup");
    assert.equal(second.at - start, TIMER_B);
    assert.notEqual(second.msg.topVia!.branch, first.msg.topVia!.branch);
    const answers = responses(to(atB, UAC)).map((s) => s.msg.status);
    assert.deepEqual(answers, [100], "only the 100 Trying while a hop is left");
    const end = h.advance(TIMER_B);
    const final = one(responses(to(end, UAC)), "final answer");
    assert.equal(final.msg.status, 408);
    assert.deepEqual(h.forwardFailures.map((f) => [f.host, f.why]), [
      [PRIMARY.host, "timer-B"],
      [BACKUP.host, "timer-B"],
    ]);
  });

  test("non-INVITE over UDP: retransmitted up to T2, Timer F moves on, then 408", () => {
    const h = new Harness(NO_FAILOVER);
    h.receive(request("MESSAGE"));
    const start = h.now;
    const toPrimary = requests(to(h.advance(TIMER_B - 1), PRIMARY), "MESSAGE");
    const gaps = toPrimary.map((s) => s.at - start);
    assert.deepEqual(gaps.slice(0, 4), [T1, 3 * T1, 7 * T1, 15 * T1]);
    // Timer E is capped at T2 (4 s): from then on every 4 s.
    assert.equal(gaps[4]! - gaps[3]!, 4000);
    const atF = h.advance(1);
    assert.equal(one(requests(to(atF, BACKUP), "MESSAGE")).at - start, TIMER_B);
    const end = h.advance(TIMER_B);
    assert.equal(one(responses(to(end, UAC))).msg.status, 408);
  });

  test("non-INVITE over TCP: no retransmission, Timer F still moves on", () => {
    const h = new Harness({ serve: "site-b", ...NO_FAILOVER });
    h.receive(request("MESSAGE"));
    assert.deepEqual(summary(h.advance(TIMER_B - 1)), []);
    const atF = h.advance(1);
    assert.equal(one(requests(atF, "MESSAGE")).dest.host, B_BACKUP.host);
  });
});

describe("serial failover", () => {
  test("no response within failover.timeout: the backup gets the INVITE with a new branch", () => {
    const h = new Harness();
    const first = one(requests(h.receive(request("INVITE")), "INVITE"));
    const start = h.now;
    assert.deepEqual(summary(requests(to(h.advance(999), BACKUP), "INVITE")), []);
    const second = one(requests(to(h.advance(1), BACKUP), "INVITE"), "INVITE to the backup");
    assert.equal(second.at - start, 1000);
    assert.notEqual(second.msg.topVia!.branch, first.msg.topVia!.branch);
    assert.equal(second.msg.maxForwards, first.msg.maxForwards);
    assert.deepEqual(h.forwardFailures, [
      { host: PRIMARY.host, port: PRIMARY.port, why: "failover-timeout" },
    ]);
    // The call then completes through the backup.
    const ok = one(responses(to(h.receive(answer(second.msg, 200), BACKUP), UAC)));
    assert.equal(ok.msg.status, 200);
  });

  test("a member answering after its failover timeout is cancelled; only its 2xx would count", () => {
    const h = new Harness();
    const first = one(requests(h.receive(request("INVITE")), "INVITE"));
    const second = one(requests(to(h.advance(1_000), BACKUP), "INVITE"));
    const late = h.receive(answer(first.msg, 180, { toTag: "late" }), PRIMARY);
    const cancel = one(requests(to(late, PRIMARY), "CANCEL"), "CANCEL to the late primary");
    assert.equal(cancel.msg.topVia!.branch, first.msg.topVia!.branch);
    assert.deepEqual(summary(responses(to(late, UAC))), [], "its 180 is not relayed");
    const ended = h.receive(answer(first.msg, 487, { toTag: "late" }), PRIMARY);
    assert.equal(requests(to(ended, PRIMARY), "ACK").length, 1);
    assert.deepEqual(summary(responses(to(ended, UAC))), [], "its 487 is not the caller's");
    const ok = h.receive(answer(second.msg, 200, { toTag: "backup" }), BACKUP);
    assert.deepEqual(responses(to(ok, UAC)).map((s) => s.msg.status), [200]);
  });

  test("a provisional before the failover timeout keeps the call on the primary", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    h.receive(answer(fwd.msg, 100), PRIMARY);
    assert.deepEqual(summary(requests(to(h.advance(10_000), BACKUP), "INVITE")), []);
  });

  test("a 503 moves to the backup at once, and is not reported as a forward failure", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    const out = h.receive(answer(fwd.msg, 503), PRIMARY);
    assert.equal(one(requests(to(out, PRIMARY), "ACK")).msg.requestUri, fwd.msg.requestUri);
    const next = one(requests(to(out, BACKUP), "INVITE"));
    assert.notEqual(next.msg.topVia!.branch, fwd.msg.topVia!.branch);
    assert.deepEqual(summary(responses(to(out, UAC))), [], "the 503 is not relayed");
    assert.deepEqual(h.forwardFailures, []);
  });

  test("a transport error moves to the backup at once and is reported", () => {
    const h = new Harness({ serve: "site-b" });
    one(requests(h.receive(request("INVITE")), "INVITE"));
    const out = h.sendError(B_PRIMARY);
    assert.equal(one(requests(out, "INVITE")).dest.host, B_BACKUP.host);
    assert.deepEqual(h.forwardFailures, [{
      host: B_PRIMARY.host,
      port: B_PRIMARY.port,
      why: "transport-error",
    }]);
  });

  test("transport errors on every hop: 408 to the caller", () => {
    const h = new Harness({ serve: "site-b" });
    h.receive(request("INVITE"));
    h.sendError(B_PRIMARY);
    const out = h.sendError(B_BACKUP);
    assert.equal(one(responses(to(out, UAC))).msg.status, 408);
  });

  test("a non-INVITE that times out on its only hop is answered 408", () => {
    const h = new Harness(NO_FAILOVER);
    h.memberDown(SITE_A.backup, SITE_A);
    h.receive(request("OPTIONS", { uri: "sip:bob@example.com" }));
    const out = h.advance(TIMER_B);
    assert.equal(one(responses(to(out, UAC))).msg.status, 408);
    assert.deepEqual(summary(requests(to(out, BACKUP), "OPTIONS")), [], "a down member is no hop");
  });

  test("a forward failure makes the HA state probe the member at once", () => {
    const h = new Harness();
    assert.ok(h.ha.nextProbeDeadline() > h.haNow, "no probe is due before");
    h.receive(request("INVITE"));
    h.advance(1000);
    assert.equal(h.forwardFailures.length, 1);
    const due = h.ha.probesDue(h.haNow).probes.map((p) => p.member.host);
    assert.ok(due.includes(PRIMARY.host), `a probe to the primary is due: ${due}`);
  });
});

describe("Timer C (§16.8)", () => {
  test("a ringing branch with no final answer for over 3 minutes is cancelled", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    h.receive(answer(fwd.msg, 180), PRIMARY);
    assert.deepEqual(summary(requests(h.advance(180_000), "CANCEL")), []);
    const cancel = one(requests(to(h.advance(1_000), PRIMARY), "CANCEL"), "CANCEL at Timer C");
    assert.equal(cancel.msg.topVia!.branch, fwd.msg.topVia!.branch);
    const out = h.receive(answer(fwd.msg, 487), PRIMARY);
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [487]);
  });

  test("each provisional restarts Timer C", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    h.receive(answer(fwd.msg, 180), PRIMARY);
    h.advance(120_000);
    h.receive(answer(fwd.msg, 183), PRIMARY);
    assert.deepEqual(summary(requests(h.advance(120_000), "CANCEL")), []);
  });
});
