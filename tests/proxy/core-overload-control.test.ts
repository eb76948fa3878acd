// RFC 7339 overload control through the proxy core: our Via offers oc to members, a
// member's oc=N throttles new calls to it (503 without Retry-After, RFC 7339 §5.10; no
// HA consequence), and
// while vipless sheds load it tells clients that support oc how much to drop.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TRYING_DELAY_MS } from "../../src/proxy/delayed-trying.ts";
import {
  answer,
  BACKUP,
  Harness,
  PRIMARY,
  request,
  requests,
  responses,
  type Sent,
  to,
  UAC,
} from "./harness.ts";

const OC_UAC_VIA = () =>
  `SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK-oc-${
    Math.random().toString(36).slice(2)
  };rport;oc;oc-algo="loss"`;

/** The member's answer with `oc` parameters added to our (top) Via. */
function ocAnswer(fwd: Sent, status: number, oc: string, toTag = "uas"): string {
  return answer(fwd.msg, status, { toTag }).replace(/^(Via: [^\r]*)/m, `$1;${oc}`);
}

function forwardedInvite(sent: Sent[]): Sent | undefined {
  return requests(sent, "INVITE")[0];
}

describe("RFC 7339 overload control, vipless as the client of the members", () => {
  test("our Via in a forwarded request offers oc with the loss algorithm", () => {
    const h = new Harness();
    h.allUp();
    const fwd = forwardedInvite(h.receive(request("INVITE")))!;
    const via = fwd.msg.topVia!;
    assert.equal(via.params.has("oc"), true);
    assert.equal(via.params.get("oc"), null, "no value: a client only says it supports oc");
    assert.equal(via.params.get("oc-algo"), '"loss"');
  });

  test("a member's oc=100 refuses new calls to it with 503 without Retry-After until oc-validity ends, with no HA consequence", () => {
    const h = new Harness();
    h.allUp();
    const fwd = forwardedInvite(h.receive(request("INVITE")))!;
    h.receive(ocAnswer(fwd, 200, 'oc=100;oc-algo="loss";oc-validity=2000;oc-seq=1.000'), PRIMARY);
    assert.deepEqual(h.ocChanges, [{
      member: "10.0.0.11:5060",
      change: { kind: "throttle", loss: 100, validityMs: 2000 },
    }]);
    const eventsBefore = h.haEvents.length;
    for (let i = 0; i < 20; i++) {
      const sent = h.receive(request("INVITE"));
      assert.equal(forwardedInvite(sent), undefined, "not forwarded to the member");
      const final = responses(sent).filter((s) => s.msg.status >= 200);
      assert.deepEqual(final.map((s) => s.msg.status), [503]);
      // RFC 7339 §5.10: without Retry-After, which would keep the caller off vipless.
      assert.equal(final[0]!.msg.header("Retry-After"), null);
    }
    assert.equal(h.overloads.filter((r) => r === "member-oc").length, 20);
    assert.deepEqual(h.forwardFailures, [], "not a forward failure");
    assert.equal(h.haEvents.length, eventsBefore, "no HA event");
    assert.deepEqual(h.ha.nextHops("site-a").map((m) => m.port), [5060, 5060]);
    // In-dialog requests still go through.
    const bye = h.receive(request("BYE", { toTag: "uas" }));
    assert.equal(to(requests(bye, "BYE"), PRIMARY).length, 1);
    // oc-validity over: new calls reach the member again.
    h.advance(2000);
    assert.ok(forwardedInvite(h.receive(request("INVITE"))), "forwarded after oc-validity");
  });

  test("oc=40 refuses about 40% of new calls when there are only new calls; oc=0 ends it at once", () => {
    const h = new Harness({ settings: { maxTransactions: 10_000 } });
    h.allUp();
    const fwd = forwardedInvite(h.receive(request("INVITE")))!;
    h.receive(ocAnswer(fwd, 180, "oc=40;oc-validity=10000"), PRIMARY);
    // The first 200 count the mix of requests (RFC 7339 §7.2): all new ones here.
    for (let i = 0; i < 200; i++) h.receive(request("INVITE"));
    let forwarded = 0;
    const n = 500;
    for (let i = 0; i < n; i++) if (forwardedInvite(h.receive(request("INVITE")))) forwarded++;
    assert.ok(forwarded > n * 0.5 && forwarded < n * 0.7, `${forwarded} of ${n} forwarded`);
    const last = requests(h.sent, "INVITE").filter((s) => s.dest.port === 5060).at(-1)!;
    h.receive(ocAnswer(last, 486, "oc=0;oc-validity=0", "uas-2"), PRIMARY);
    assert.deepEqual(h.ocChanges.at(-1)!.change, { kind: "stop" });
    for (let i = 0; i < 50; i++) assert.ok(forwardedInvite(h.receive(request("INVITE"))));
  });

  test("malformed oc parameters from a member are reported and ignored", () => {
    const h = new Harness();
    h.allUp();
    const fwd = forwardedInvite(h.receive(request("INVITE")))!;
    const ok = h.receive(ocAnswer(fwd, 200, "oc=250"), PRIMARY);
    assert.deepEqual(responses(ok).map((s) => s.msg.status), [200], "the answer still goes up");
    assert.equal(h.ocChanges[0]!.change.kind, "invalid");
    assert.ok(forwardedInvite(h.receive(request("INVITE"))));
  });
});

describe("RFC 7339 overload control, vipless as the overloaded server", () => {
  test("not overloaded, a client that offers oc hears oc=0 in every response (§4.1, §5.1)", () => {
    const h = new Harness();
    h.allUp();
    const fwd = forwardedInvite(h.receive(request("INVITE", { vias: [OC_UAC_VIA()] })))!;
    const trying = responses(h.advance(TRYING_DELAY_MS), 100)[0]!.msg.topVia!;
    assert.equal(trying.params.get("oc"), "0", "a value: vipless supports oc");
    assert.equal(trying.params.get("oc-algo"), '"loss"', "the one algorithm chosen");
    assert.equal(trying.params.get("oc-validity"), "0");
    assert.match(trying.params.get("oc-seq")!, /^\d{1,12}\.\d{1,5}$/);
    const up = responses(h.receive(answer(fwd.msg, 200, { toTag: "uas" }), PRIMARY));
    assert.equal(up[0]!.msg.topVia!.params.get("oc"), "0", "a relayed answer too (§5.11)");
    h.receive(request("INVITE"));
    const plain = responses(h.advance(TRYING_DELAY_MS), 100)[0]!.msg.topVia!;
    assert.equal(plain.params.has("oc"), false, "a client that did not offer oc: nothing");
  });

  test("while saturated, a client that supports oc is told the loss in its Via; others are not", () => {
    const h = new Harness();
    h.allUp();
    const accepted = request("INVITE", { vias: [OC_UAC_VIA()] });
    const fwd = forwardedInvite(h.receive(accepted))!;
    // Ringing, so that the seconds of saturation below do not move it to the backup.
    h.receive(answer(fwd.msg, 180, { toTag: "uas" }), PRIMARY);
    h.saturate(); // ten steps of the signal: a loss of 100 %
    const [refused] = h.receive(request("INVITE", { vias: [OC_UAC_VIA()] }));
    assert.equal(refused!.msg.status, 503);
    const via = refused!.msg.topVia!;
    assert.equal(via.params.get("oc"), "100");
    assert.equal(via.params.get("oc-algo"), '"loss"');
    assert.equal(via.params.get("oc-validity"), "1000");
    assert.match(via.params.get("oc-seq")!, /^\d+\.\d{3}$/);
    assert.equal(via.host, "uac.example.com", "the client's own Via, otherwise as it was");
    assert.match(via.branch!, /^z9hG4bK-oc-/);
    assert.equal(via.params.has("rport"), true);
    // A relayed answer for a call accepted before carries it too.
    const up = responses(h.receive(answer(fwd.msg, 200, { toTag: "uas" }), PRIMARY));
    assert.equal(up[0]!.msg.vias.length, 1, "our Via removed, the client's kept");
    assert.equal(up[0]!.msg.topVia!.params.get("oc"), "100");
    // A client that did not offer oc hears nothing of it.
    const [plain] = h.receive(request("INVITE"));
    assert.equal(plain!.msg.status, 503);
    assert.equal(plain!.msg.topVia!.params.has("oc"), false);
  });

  test("the loss grows while saturated and, once recovered, clients hear oc=0", () => {
    const h = new Harness();
    h.allUp();
    h.saturated = true;
    let last: Sent | undefined;
    for (let i = 0; i < 5; i++) {
      // Its 503 at once, or its 100 Trying once the member has been silent for 200 ms.
      const out = [...h.receive(request("INVITE", { vias: [OC_UAC_VIA()] })), ...h.advance(250)];
      last = responses(to(out, UAC)).at(-1);
    }
    assert.equal(last!.msg.topVia!.params.get("oc"), "50");
    h.saturated = false;
    h.advance(10 * 250);
    const sent = h.receive(request("INVITE", { vias: [OC_UAC_VIA()] }));
    const trying = responses(h.advance(TRYING_DELAY_MS), 100)[0]!;
    assert.equal(trying.msg.topVia!.params.get("oc"), "0");
    assert.equal(trying.msg.topVia!.params.get("oc-validity"), "0");
    assert.ok(forwardedInvite(sent), "accepted again");
    assert.equal(to(sent, BACKUP).length, 0);
    assert.equal(UAC.port, 5062);
  });

  test("the early 503s never refuse an INVITE inside a dialog (a re-INVITE, with a To tag)", () => {
    const h = new Harness();
    h.allUp();
    h.saturate();
    assert.equal(responses(h.receive(request("INVITE")), 503).length, 1, "a new call: refused");
    const sent = h.receive(request("INVITE", { toTag: "in-dialog" }));
    assert.equal(responses(sent, 503).length, 0, "a re-INVITE of an accepted call: not refused");
    assert.ok(forwardedInvite(sent), "forwarded");
  });

  test("once the main thread has spare time, the early 503s end without waiting for the steps", () => {
    const h = new Harness({ settings: { maxTransactions: 10_000 } });
    h.allUp();
    h.saturate();
    h.saturated = false;
    h.busy = 1;
    h.advance(50);
    assert.equal(responses(h.receive(request("INVITE")), 503).length, 1, "busy: still refused");
    // Idle 95 % of the time with a tenth of the calls accepted: the first request that
    // finds it so cuts the loss to 0, and from it on every call is accepted (ten steps
    // of 10 points would have taken 2.5 s).
    h.busy = 0.05;
    h.advance(50);
    for (let i = 0; i < 50; i++) {
      const sent = h.receive(request("INVITE"));
      assert.equal(responses(sent, 503).length, 0, `INVITE ${i} accepted`);
    }
  });

  test("the early 503s refuse the share of new INVITEs the loss says, not all of them", () => {
    const h = new Harness({ settings: { maxTransactions: 10_000 } });
    h.allUp();
    h.saturated = true;
    // One step of the signal: a loss of 10 %, for every INVITE within its 250 ms.
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      if (responses(h.receive(request("INVITE")), 503).length > 0) refused++;
    }
    assert.ok(refused > 20 && refused < 70, `${refused} of 400 refused at a loss of 10 %`);
    h.saturate();
    for (let i = 0; i < 20; i++) {
      assert.equal(responses(h.receive(request("INVITE")), 503).length, 1, "at 100 %, all");
    }
  });
});
