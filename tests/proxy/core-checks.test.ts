// What the proxy core answers itself instead of forwarding: loops (482), Max-Forwards
// (483), OPTIONS to vipless, Proxy-Require (420), malformed requests (400), an
// out-of-service pair and overload (503).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADVERTISE, answer, Harness, PRIMARY, request, SITE_A, UAC } from "./harness.ts";
import { hostPort, one, requests, responses, summary, to } from "./harness.ts";

/** The final answers the UAC got, as status codes. */
function finals(out: ReturnType<Harness["receive"]>): number[] {
  return responses(to(out, UAC)).map((s) => s.msg.status).filter((s) => s >= 200);
}

describe("loops and spirals (§16.3 step 4)", () => {
  test("our own forward coming back unchanged is a loop: 482", () => {
    const h = new Harness();
    const fwd = one(
      requests(h.receive(request("INVITE", { uri: "sip:bob@198.51.100.30" })), "INVITE"),
    );
    // The primary routes it straight back to us, changing nothing we hash.
    const back = new TextDecoder().decode(fwd.msg.raw).replace(
      "Via: SIP/2.0/UDP vipless.test",
      "Via: SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-loop\r\nVia: SIP/2.0/UDP vipless.test",
    );
    const out = h.receive(back, PRIMARY);
    const reply = responses(to(out, PRIMARY)).filter((s) => s.msg.status >= 200);
    assert.deepEqual(reply.map((s) => s.msg.status), [482]);
    assert.deepEqual(summary(requests(out, "INVITE")), []);
  });

  test("a spiral (Request-URI changed downstream) is forwarded", () => {
    const h = new Harness();
    const fwd = one(
      requests(h.receive(request("INVITE", { uri: "sip:bob@198.51.100.30" })), "INVITE"),
    );
    const back = new TextDecoder().decode(fwd.msg.raw)
      .replace("INVITE sip:bob@198.51.100.30 ", "INVITE sip:carol@198.51.100.40:5080 ")
      .replace(
        "Via: SIP/2.0/UDP vipless.test",
        "Via: SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-spiral\r\nVia: SIP/2.0/UDP vipless.test",
      );
    const out = h.receive(back, PRIMARY);
    const again = one(requests(out, "INVITE"), "spiralled INVITE");
    assert.deepEqual(hostPort(again), { host: "198.51.100.40", port: 5080 });
    assert.equal(again.msg.vias.filter((v) => v.host === ADVERTISE).length, 2);
    assert.deepEqual(finals(out), []);
  });
});

test("a 2xx ACK of ours coming back unchanged is dropped as a loop, not forwarded again", () => {
  const h = new Harness();
  const ack = request("ACK", { uri: "sip:bob@198.51.100.30", toTag: "uas-1" });
  const fwd = one(requests(h.receive(ack), "ACK"));
  const back = new TextDecoder().decode(fwd.msg.raw).replace(
    "Via: SIP/2.0/UDP vipless.test",
    "Via: SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-ack\r\nVia: SIP/2.0/UDP vipless.test",
  );
  assert.deepEqual(summary(h.receive(back, PRIMARY)), []);
  assert.deepEqual(h.drops, ["loop-on-ack"]);
});

describe("Max-Forwards", () => {
  test("an INVITE with Max-Forwards 0 is answered 483 and not forwarded", () => {
    const h = new Harness();
    const out = h.receive(request("INVITE", { maxForwards: 0 }));
    assert.deepEqual(finals(out), [483]);
    assert.deepEqual(summary(requests(out, "INVITE")), []);
  });

  test("an OPTIONS with Max-Forwards 0 is answered by vipless itself", () => {
    const h = new Harness();
    const out = h.receive(request("OPTIONS", { maxForwards: 0 }));
    assert.deepEqual(finals(out), [200]);
    assert.deepEqual(summary(requests(out, "OPTIONS")), []);
  });
});

describe("OPTIONS addressed to vipless", () => {
  const options = () => request("OPTIONS", { uri: `sip:${ADVERTISE}` });

  test("200 with Allow while the served pair has an active member", () => {
    const h = new Harness();
    const out = h.receive(options());
    const ok = one(responses(out));
    assert.equal(ok.msg.status, 200);
    assert.match(ok.msg.header("Allow") ?? "", /INVITE/);
    assert.deepEqual(summary(requests(out, "OPTIONS")), [], "not forwarded");
  });

  test("503 with Retry-After while the served pair is out of service", () => {
    const h = new Harness();
    h.pairOutOfService(SITE_A);
    const no = one(responses(h.receive(options())));
    assert.equal(no.msg.status, 503);
    assert.ok(no.msg.has("Retry-After"));
  });

  test("an OPTIONS for someone else is forwarded", () => {
    const h = new Harness();
    const out = h.receive(request("OPTIONS", { uri: "sip:bob@example.com" }));
    assert.equal(one(requests(out, "OPTIONS")).dest.host, PRIMARY.host);
  });
});

describe("requests refused", () => {
  test("an unknown Proxy-Require option: 420 listing it in Unsupported", () => {
    const h = new Harness();
    const out = h.receive(request("INVITE", { headers: [["Proxy-Require", "foo-ext"]] }));
    const bad = one(responses(to(out, UAC)).filter((s) => s.msg.status >= 200));
    assert.equal(bad.msg.status, 420);
    assert.equal(bad.msg.header("Unsupported"), "foo-ext");
    assert.deepEqual(summary(requests(out, "INVITE")), []);
  });

  test("a malformed request gets 400, and the proxy keeps working", () => {
    const h = new Harness();
    const broken = request("INVITE").replace(/CSeq: 1 INVITE/, "CSeq: one INVITE");
    const out = h.receive(broken);
    assert.deepEqual(finals(out), [400]);
    assert.deepEqual(summary(requests(out, "INVITE")), []);
    const next = h.receive(request("INVITE"));
    assert.equal(one(requests(next, "INVITE")).dest.host, PRIMARY.host);
  });

  test("garbage that is not SIP is dropped and counted, and the proxy keeps working", () => {
    const h = new Harness();
    assert.deepEqual(summary(h.receive("hello there\r\n\r\n")), []);
    assert.equal(h.drops.length, 1);
    assert.equal(one(requests(h.receive(request("INVITE")), "INVITE")).dest.host, PRIMARY.host);
  });

  test("the served pair out of service: 503 with Retry-After, nothing forwarded", () => {
    const h = new Harness();
    h.pairOutOfService(SITE_A);
    const out = h.receive(request("INVITE"));
    const no = one(responses(to(out, UAC)).filter((s) => s.msg.status >= 200));
    assert.equal(no.msg.status, 503);
    assert.match(no.msg.header("Retry-After") ?? "", /^\d+$/);
    assert.deepEqual(summary(requests(out, "INVITE")), []);
  });
});

describe("overload", () => {
  test("above overload.max_invite_rate new INVITEs get 503 with Retry-After", () => {
    const h = new Harness({ settings: { maxInviteRate: 2 } });
    const statuses = [1, 2, 3].map(() => {
      const out = h.receive(request("INVITE"));
      return requests(out, "INVITE").length === 1 ? "forwarded" : String(finals(out));
    });
    assert.deepEqual(statuses, ["forwarded", "forwarded", "503"]);
    h.advance(1_000);
    assert.equal(requests(h.receive(request("INVITE")), "INVITE").length, 1, "refilled");
  });

  test("the INVITE rate limit allows its full burst right after start", () => {
    const h = new Harness({ start: 0, settings: { maxInviteRate: 2 } });
    const forwarded = [1, 2].map(() => requests(h.receive(request("INVITE")), "INVITE").length);
    assert.deepEqual(forwarded, [1, 1]);
  });

  test("the INVITE rate limit leaves other methods alone", () => {
    const h = new Harness({ settings: { maxInviteRate: 1 } });
    h.receive(request("INVITE"));
    assert.equal(requests(h.receive(request("MESSAGE")), "MESSAGE").length, 1);
  });

  test("at sip.max_transactions new requests get 503 until transactions end", () => {
    const h = new Harness({ settings: { maxTransactions: 2 } });
    const first = one(requests(h.receive(request("INVITE")), "INVITE"));
    const out = h.receive(request("INVITE"));
    assert.deepEqual(finals(out), [503]);
    assert.ok(one(responses(to(out, UAC))).msg.has("Retry-After"));
    // The first call ends; its transactions go, and new requests are accepted again.
    h.receive(answer(first.msg, 486), PRIMARY);
    h.advance(60_000);
    assert.equal(requests(h.receive(request("INVITE")), "INVITE").length, 1);
  });
});
