// A member's request to a plain URI named by DNS name without a port (RFC 3263 §4):
// the core parks it while the name is located, then tries each target as a next hop
// (failover on a timeout, a transport error or a 503), keeps the result for its TTL,
// answers 404 when the name resolves to nothing and 503 when the lookup fails, bounds
// what it parks, and lets a CANCEL end a parked INVITE.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Located, Target } from "../../src/dns/locate.ts";
import { TRYING_DELAY_MS } from "../../src/proxy/delayed-trying.ts";
import { MAX_PARKED_REQUESTS, PARK_TIMEOUT_MS } from "../../src/proxy/parked-requests.ts";
import { queryKey, TargetCache } from "../../src/proxy/outbound-targets.ts";
import { answer, branchOf, followUp, Harness, PRIMARY, request } from "./harness.ts";
import { hostPort, one, requests, responses, summary, to } from "./harness.ts";

const CARRIER_KEY = queryKey({ host: "carrier.test", port: null, transport: null, secure: false });
const FIRST: Target = { transport: "udp", address: "198.51.100.1", port: 5060, name: "a.test" };
const SECOND: Target = { transport: "tcp", address: "198.51.100.2", port: 5070, name: "b.test" };
/** Where a target is, as the harness's `to` and `hostPort` say it. */
const at = (t: Target) => ({ host: t.address, port: t.port });
const TWO: Located = { targets: [FIRST, SECOND], ttl: 60 };

let n = 0;
/** A request from the primary member (so it follows its Request-URI). */
function fromMember(method: string, uri = "sip:+15550100@carrier.test", extra = {}) {
  return request(method, {
    uri,
    vias: [`SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-${++n}`],
    ...extra,
  });
}

/** An INVITE to carrier.test parked, then its lookup answered with `found`. */
function located(found: Located = TWO) {
  const h = new Harness();
  const invite = fromMember("INVITE");
  const first = h.receive(invite, PRIMARY);
  const out = h.located(CARRIER_KEY, found);
  return { h, invite, first, out };
}

describe("outbound targets named by DNS name (RFC 3263)", () => {
  test("the INVITE waits for NAPTR/SRV/A, then goes to the first target over its transport", () => {
    const h = new Harness();
    assert.deepEqual(summary(h.receive(fromMember("INVITE"), PRIMARY)), [], "nothing yet");
    assert.deepEqual(
      summary(h.advance(TRYING_DELAY_MS)),
      ["10.0.0.11:5060 SIP/2.0 100 Trying"],
      "a lookup slower than 200 ms: the caller hears 100 Trying, nothing is forwarded",
    );
    assert.deepEqual(h.lookups, [{
      query: { host: "carrier.test", port: null, transport: null, secure: false },
      key: CARRIER_KEY,
    }]);
    assert.deepEqual(h.core.parked, { requests: 1, names: 1 });
    const fwd = one(requests(h.located(CARRIER_KEY, TWO), "INVITE"));
    assert.deepEqual(hostPort(fwd), { host: "198.51.100.1", port: 5060 });
    assert.equal(fwd.msg.topVia!.transport, "UDP");
    assert.equal(fwd.msg.requestUri, "sip:+15550100@carrier.test", "the Request-URI is kept");
    assert.deepEqual(h.core.parked, { requests: 0, names: 0 });
  });

  test("a 503 from the first target: the next one, on a new branch, with its own Via transport", () => {
    const { h, out } = located();
    const fwd = one(requests(out, "INVITE"));
    const next = h.receive(answer(fwd.msg, 503), PRIMARY);
    assert.equal(one(requests(to(next, at(FIRST)), "ACK")).msg.topVia!.branch, branchOf(fwd));
    const retry = one(requests(to(next, at(SECOND)), "INVITE"));
    assert.equal(retry.dest.transport, "tcp");
    assert.equal(retry.msg.topVia!.transport, "TCP");
    assert.notEqual(branchOf(retry), branchOf(fwd));
    const ok = h.receive(answer(retry.msg, 200), PRIMARY);
    assert.deepEqual(responses(to(ok, PRIMARY)).map((s) => s.msg.status), [200]);
  });

  test("a target that does not answer: the next one after the failover timeout", () => {
    const { h, out } = located();
    one(requests(to(out, at(FIRST)), "INVITE"));
    assert.deepEqual(summary(requests(h.advance(999), "INVITE")).filter((l) => /5070/.test(l)), []);
    const retry = one(requests(to(h.advance(1), at(SECOND)), "INVITE"));
    // The last target keeps the RFC's timers (Timer B), not the failover timer.
    h.receive(answer(retry.msg, 180), PRIMARY);
    assert.deepEqual(responses(to(h.advance(5_000), PRIMARY), 408), []);
  });

  test("a transport error at the first target: the next one at once", () => {
    const { h } = located();
    const next = h.sendError({ ...at(FIRST), transport: FIRST.transport });
    assert.equal(one(requests(to(next, at(SECOND)), "INVITE")).dest.transport, "tcp");
  });

  test("every target fails: the caller gets the best answer (408 after silence)", () => {
    const { h, out } = located({ targets: [FIRST], ttl: 60 });
    const fwd = one(requests(out, "INVITE"));
    const fin = h.receive(answer(fwd.msg, 503), PRIMARY);
    // §16.7 step 6: a 503 from downstream goes up as 500.
    assert.deepEqual(responses(to(fin, PRIMARY)).map((s) => s.msg.status), [500]);
  });

  test("the result is kept for its TTL: the next request goes at once; after it, asked again", () => {
    const { h } = located();
    assert.equal(h.lookups.length, 1);
    const at = one(requests(h.receive(fromMember("INVITE"), PRIMARY), "INVITE"));
    assert.deepEqual(hostPort(at), { host: "198.51.100.1", port: 5060 });
    assert.equal(h.lookups.length, 1, "no lookup within the TTL");
    h.advance(60_000);
    const later = h.receive(fromMember("INVITE"), PRIMARY);
    assert.deepEqual(requests(later, "INVITE"), []);
    assert.equal(h.lookups.length, 2, "looked up again once the TTL ran out");
  });

  test("a TTL of 0 is not kept", () => {
    const { h } = located({ targets: [FIRST], ttl: 0 });
    h.receive(fromMember("INVITE"), PRIMARY);
    assert.equal(h.lookups.length, 2);
  });

  test("requests waiting on one name share its lookup", () => {
    const h = new Harness();
    h.receive(fromMember("INVITE"), PRIMARY);
    h.receive(fromMember("MESSAGE"), PRIMARY);
    assert.equal(h.lookups.length, 1);
    assert.deepEqual(h.core.parked, { requests: 2, names: 1 });
    const out = h.located(CARRIER_KEY, TWO);
    assert.deepEqual(requests(to(out, at(FIRST)), "INVITE").length, 1);
    assert.deepEqual(requests(to(out, at(FIRST)), "MESSAGE").length, 1);
  });

  test("a name that resolves to nothing: 404, and again at once for its negative TTL", () => {
    const { h, out } = located({ targets: [], ttl: 5 });
    assert.deepEqual(responses(to(out, PRIMARY)).map((s) => s.msg.status), [404]);
    const again = h.receive(fromMember("INVITE"), PRIMARY);
    assert.deepEqual(responses(to(again, PRIMARY)).map((s) => s.msg.status), [404]);
    assert.equal(h.lookups.length, 1);
    assert.deepEqual(h.core.liveContexts, { open: 0, branches: 0 });
  });

  test("a lookup that fails (no DNS answer): 503 with Retry-After, and nothing kept", () => {
    const h = new Harness();
    h.receive(fromMember("INVITE"), PRIMARY);
    const fail = h.located(CARRIER_KEY, new Error("DNS: 127.0.0.1:53 did not answer"));
    const r = one(responses(to(fail, PRIMARY), 503));
    assert.equal(r.msg.header("Retry-After"), "5");
    h.receive(fromMember("INVITE"), PRIMARY);
    assert.equal(h.lookups.length, 2, "an error is not cached");
  });

  test("a lookup that never ends: 503 at the core's own deadline; its late end sends nothing", () => {
    const h = new Harness();
    h.receive(fromMember("INVITE"), PRIMARY);
    assert.deepEqual(responses(h.advance(PARK_TIMEOUT_MS - 1), 503), []);
    assert.equal(one(responses(to(h.advance(1), PRIMARY), 503)).msg.cseq!.method, "INVITE");
    assert.deepEqual(h.core.parked, { requests: 0, names: 0 });
    assert.deepEqual(summary(h.located(CARRIER_KEY, TWO)), []);
    h.advance(64_000);
    assert.equal(h.core.liveTransactions, 0);
  });

  test("a CANCEL for a parked INVITE: 200 and 487 at once; the lookup's end sends nothing", () => {
    const h = new Harness();
    const invite = fromMember("INVITE");
    h.receive(invite, PRIMARY);
    const out = h.receive(followUp(invite, "CANCEL"), PRIMARY);
    assert.deepEqual(
      responses(to(out, PRIMARY)).map((s) => `${s.msg.status} ${s.msg.cseq!.method}`),
      ["200 CANCEL", "487 INVITE"],
    );
    assert.deepEqual(h.core.parked, { requests: 0, names: 0 });
    assert.deepEqual(summary(h.located(CARRIER_KEY, TWO)), []);
    assert.deepEqual(h.core.liveContexts, { open: 0, branches: 0 });
    // The ACK for the 487 is absorbed; the transactions end on their timers.
    h.receive(followUp(invite, "ACK"), PRIMARY);
    h.advance(64_000);
    assert.equal(h.core.liveTransactions, 0);
  });

  test(`at most ${MAX_PARKED_REQUESTS} requests wait: past it, 503 at once, counted`, () => {
    const h = new Harness({ settings: { maxTransactions: 10_000 } });
    for (let i = 0; i < MAX_PARKED_REQUESTS; i++) {
      h.receive(fromMember("MESSAGE", `sip:x@n${i % 50}.test`), PRIMARY);
    }
    assert.equal(h.core.parked.requests, MAX_PARKED_REQUESTS);
    assert.equal(h.lookups.length, 50, "one lookup per name");
    const over = h.receive(fromMember("MESSAGE", "sip:x@other.test"), PRIMARY);
    assert.deepEqual(responses(over).map((s) => s.msg.status), [503]);
    assert.deepEqual(h.overloads, ["dns-parked"]);
    assert.equal(h.lookups.length, 50, "nothing looked up for a refused request");
  });

  test("numeric host, or a port given: one hop as written, no lookup", () => {
    const h = new Harness();
    const numeric = one(
      requests(h.receive(fromMember("INVITE", "sip:x@198.51.100.9"), PRIMARY), "INVITE"),
    );
    assert.deepEqual(hostPort(numeric), { host: "198.51.100.9", port: 5060 });
    const port = one(
      requests(h.receive(fromMember("INVITE", "sip:x@gw.example.net:5080"), PRIMARY), "INVITE"),
    );
    assert.deepEqual(hostPort(port), { host: "gw.example.net", port: 5080 });
    const v6 = one(
      requests(h.receive(fromMember("INVITE", "sip:x@[2001:db8::7]"), PRIMARY), "INVITE"),
    );
    assert.deepEqual(hostPort(v6), { host: "2001:db8::7", port: 5060 });
    assert.deepEqual(h.lookups, []);
  });

  test("transport= and sips: reach the lookup (SRV for that transport; TLS only)", () => {
    const h = new Harness();
    h.receive(fromMember("INVITE", "sip:x@carrier.test;transport=tcp"), PRIMARY);
    h.receive(fromMember("INVITE", "sips:x@secure.test"), PRIMARY);
    assert.deepEqual(h.lookups.map((l) => l.query), [
      { host: "carrier.test", port: null, transport: "tcp", secure: false },
      { host: "secure.test", port: null, transport: null, secure: true },
    ]);
    const tls: Target = { transport: "tls", address: "198.51.100.5", port: 5061, name: "s.test" };
    const fwd = one(requests(h.located(h.lookups[1]!.key, { targets: [tls], ttl: 60 }), "INVITE"));
    assert.equal(fwd.dest.transport, "tls");
    assert.equal(fwd.dest.serverName, "secure.test", "RFC 5922: the URI's domain is checked");
  });

  test("X-Genesys-Route naming a host without a port: located, then the header removed", () => {
    const h = new Harness();
    h.receive(
      fromMember("INVITE", undefined, {
        headers: [["X-Genesys-Route", "<sip:gw.carrier.test>"]],
      }),
      PRIMARY,
    );
    const key = h.lookups[0]!.key;
    assert.equal(h.lookups[0]!.query.host, "gw.carrier.test");
    const fwd = one(requests(h.located(key, TWO), "INVITE"));
    assert.equal(fwd.msg.has("X-Genesys-Route"), false);
    assert.equal(fwd.msg.requestUri, "sip:+15550100@carrier.test");
  });

  test("an ACK to a name not located yet is dropped, and the name looked up for its retransmission", () => {
    const h = new Harness();
    const ack = fromMember("ACK", undefined, { toTag: "uas-1" });
    assert.deepEqual(summary(h.receive(ack, PRIMARY)), []);
    assert.deepEqual(h.drops, ["ack-unroutable"]);
    assert.equal(h.lookups.length, 1);
    h.located(CARRIER_KEY, TWO);
    assert.equal(one(requests(h.receive(ack, PRIMARY), "ACK")).dest.host, FIRST.address);
  });
});

describe("the targets cache", () => {
  test("SRV weights are drawn again for each request (RFC 2782), priorities kept", () => {
    const heavy = { priority: 10, weight: 50 }, light = { priority: 10, weight: 50 };
    const backup = { priority: 20, weight: 0 };
    const t = (address: string, srv: typeof heavy): Target => ({
      transport: "udp",
      address,
      port: 5060,
      name: address,
      srv,
    });
    const cache = new TargetCache();
    cache.store("k", {
      targets: [
        t("10.0.0.1", heavy),
        t("10.0.0.2", heavy),
        t("10.0.0.3", light),
        t("10.0.0.9", backup),
      ],
      ttl: 60,
    }, 0);
    const firsts = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const order = cache.get("k", 1)!.map((x) => x.address);
      firsts.add(order[0]!);
      assert.equal(order[3], "10.0.0.9", "the lower priority stays last");
      // The two addresses of one SRV record stay together, in DNS order.
      const i1 = order.indexOf("10.0.0.1");
      assert.equal(order[i1 + 1], "10.0.0.2");
    }
    assert.deepEqual([...firsts].sort(), ["10.0.0.1", "10.0.0.3"]);
    assert.equal(cache.get("k", 60_000), undefined, "gone when the TTL runs out");
  });
});
