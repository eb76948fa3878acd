// Hostile input (issue 14): a malformed header the routing path decodes is answered
// before any state exists, X-Genesys-Route counts only from pair members, and whatever
// arrives, once every timer has run no transaction, context or timer is left.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mutate, mutations } from "../support/mutation.ts";
import {
  answer,
  BACKUP,
  Harness,
  one,
  PRIMARY,
  request,
  requests,
  responses,
  SITE_A,
  summary,
  to,
  UAC,
} from "./harness.ts";

/** Runs every timer there is (Timer C is the longest, 181 s). */
function drain(h: Harness): void {
  h.advance(400_000);
}

function assertNothingLeft(h: Harness): void {
  assert.equal(h.core.liveTransactions, 0, "live transactions");
  assert.deepEqual(h.core.liveContexts, { open: 0, branches: 0 }, "contexts and branches");
  assert.equal(h.core.nextDeadline(), undefined, "timers");
}

describe("the error boundary: malformed routing headers leave no state", () => {
  for (const method of ["INVITE", "OPTIONS"]) {
    test(`${method} from a member with a malformed X-Genesys-Route: 400 at once, no state`, () => {
      const h = new Harness();
      const req = request(method, { headers: [["X-Genesys-Route", "<sip:a b>"]] });
      const out = h.receive(req, PRIMARY);
      assert.deepEqual(responses(to(out, PRIMARY)).map((s) => s.msg.status), [400]);
      assert.equal(h.core.liveTransactions, 0);
      // The retransmission gets the same answer, and still nothing stays.
      const again = h.receive(req, PRIMARY);
      assert.deepEqual(responses(to(again, PRIMARY)).map((s) => s.msg.status), [400]);
      assertNothingLeft(h);
    });

    test(`${method} with a malformed Route URI: 400 at once, no 100, no state`, () => {
      const h = new Harness();
      const out = h.receive(request(method, { routes: ["<sip:a b;lr>"] }));
      assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [400]);
      assert.deepEqual(summary(requests(out, method)), []);
      assertNothingLeft(h);
    });
  }

  test("from a host that is no member, X-Genesys-Route is neither parsed nor forwarded", () => {
    const h = new Harness();
    const out = h.receive(request("INVITE", { headers: [["X-Genesys-Route", "<sip:a b>"]] }));
    const fwd = one(requests(out, "INVITE"));
    assert.equal(fwd.dest.host, PRIMARY.host, "goes to the served pair");
    assert.equal(fwd.msg.header("X-Genesys-Route"), null, "the header is not forwarded");
    h.receive(answer(fwd.msg, 486), PRIMARY);
    drain(h);
    assertNothingLeft(h);
  });

  test("a well-formed X-Genesys-Route from a non-member does not steer the request", () => {
    const h = new Harness();
    const out = h.receive(
      request("MESSAGE", { headers: [["X-Genesys-Route", "<sip:198.51.100.99:5060>"]] }),
    );
    const fwd = one(requests(out, "MESSAGE"));
    assert.equal(fwd.dest.host, PRIMARY.host);
    assert.equal(fwd.msg.header("X-Genesys-Route"), null);
  });
});

/** Mutations a fuzzer makes to a request's text. */
const mutation = mutations([
  "<",
  ">",
  " ",
  ";",
  ":",
  "\0",
  "\n",
  "\r",
  "@",
  "[",
  "]",
  "%zz",
]);

describe("property: after all timers, nothing is left", () => {
  test("any mutated request from anyone, in any order, with or without answers", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            method: fc.constantFrom("INVITE", "OPTIONS", "BYE", "CANCEL", "ACK", "MESSAGE"),
            fromMember: fc.boolean(),
            xgr: fc.boolean(),
            mutations: fc.array(mutation, { maxLength: 4 }),
            answerWith: fc.constantFrom(0, 100, 180, 200, 408, 486, 503),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (steps) => {
          const h = new Harness();
          for (const s of steps) {
            const src = s.fromMember ? PRIMARY : UAC;
            const headers: Array<[string, string]> = s.xgr
              ? [["X-Genesys-Route", "<sip:10.0.0.12:5060>"]]
              : [];
            const bytes = mutate(
              new TextEncoder().encode(request(s.method, { routes: [], headers })),
              s.mutations,
            );
            const out = h.receive(bytes, src);
            if (s.answerWith === 0) continue;
            for (const f of requests(out, s.method)) {
              if (f.msg.isRequest && f.dest.host === PRIMARY.host) {
                h.receive(answer(f.msg, s.answerWith), PRIMARY);
              }
            }
            h.advance(50);
          }
          drain(h);
          assertNothingLeft(h);
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });
});

describe("a large request to a UDP-only member (RFC 3261 §18.1.1)", () => {
  test("TCP refused: the request is retried over UDP, and nothing counts against the member", () => {
    const h = new Harness();
    const big = request("INVITE", { body: "v=0\r\n" + "a=x-filler:0123456789\r\n".repeat(70) });
    const first = one(requests(h.receive(big), "INVITE"));
    assert.equal(first.dest.transport, "tcp", "over 1300 bytes: TCP first");
    assert.equal(first.dest.host, PRIMARY.host);
    const retry = one(requests(h.sendError({ ...PRIMARY, transport: "tcp" }), "INVITE"));
    assert.deepEqual(
      { transport: retry.dest.transport, host: retry.dest.host, port: retry.dest.port },
      { transport: "udp", host: PRIMARY.host, port: PRIMARY.port },
    );
    assert.match(retry.msg.topVia!.transport, /^UDP$/i);
    assert.deepEqual(h.forwardFailures, [], "the member is not blamed for refusing TCP");
    const ok = h.receive(answer(retry.msg, 200), PRIMARY);
    assert.deepEqual(responses(to(ok, UAC)).map((s) => s.msg.status), [200]);
  });
});

describe("a large request after its call has its answer (fuzz finding)", () => {
  test("TCP refused on a branch still trying after another branch's 2xx: no retry, no crash", () => {
    const h = new Harness();
    const big = request("INVITE", { body: "v=0\r\n" + "a=x-filler:0123456789\r\n".repeat(70) });
    const first = one(requests(h.receive(big), "INVITE"));
    // The primary is silent for failover.timeout: the call moves on to the backup.
    const second = one(requests(to(h.advance(1000), BACKUP), "INVITE"));
    assert.equal(second.dest.transport, "tcp");
    // The primary's late 2xx is the call's answer; the backup's branch still tries.
    const ok = h.receive(answer(first.msg, 200), PRIMARY);
    assert.deepEqual(responses(to(ok, UAC)).map((s) => s.msg.status), [200]);
    // Now the backup refuses TCP: the call is answered, so nothing is retried.
    const after = h.sendError({ ...BACKUP, transport: "tcp" });
    assert.deepEqual(requests(after, "INVITE"), []);
    drain(h);
    assertNothingLeft(h);
  });
});

describe("a strict router's Route with non-ASCII in a URI (fuzz finding)", () => {
  test("is refused with 400, never copied into the Request-URI of a forwarded request", () => {
    const h = new Harness();
    const msg = request("MESSAGE", {
      uri: "sip:service@vipless.test",
      routes: ["<sip:10.0.0.11;\u00c2r>"],
    });
    const out = h.receive(msg);
    assert.deepEqual(out.map((s) => [s.dest.host, s.msg.status]), [[UAC.host, 400]]);
    assertNothingLeft(h);
  });
});

describe("prompt final answers", () => {
  test("the last hop of a pair silent for failover.timeout: 408 then, not at Timer F", () => {
    const h = new Harness();
    h.memberDown(SITE_A.backup, SITE_A);
    h.receive(request("OPTIONS", { uri: "sip:bob@example.com" }));
    const out = h.advance(1000);
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [408]);
    drain(h);
    assertNothingLeft(h);
  });

  test("requests waiting on a pair that goes out of service get 503 at once", () => {
    const h = new Harness({ settings: { failoverTimeoutMs: 10_000 } });
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    h.receive(answer(fwd.msg, 100), PRIMARY);
    h.core.onPairOutOfService("site-a", h.now);
    const out = h.take();
    const finals = responses(to(out, UAC)).filter((s) => s.msg.status >= 200);
    assert.deepEqual(finals.map((s) => s.msg.status), [503]);
    assert.match(finals[0]!.msg.header("Retry-After") ?? "", /^\d+$/);
    assert.equal(requests(to(out, PRIMARY), "CANCEL").length, 1, "the ringing branch is cancelled");
  });
});
