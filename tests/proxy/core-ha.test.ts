// The proxy core and the pair state together (DESIGN §1): traffic from the backup is
// proof that it took over, OPTIONS are not; forward failures lead to a switch.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Source } from "../../src/proxy/types.ts";
import { answer, Harness, request } from "./harness.ts";
import { ADVERTISE, B_BACKUP, BACKUP, PRIMARY, SITE_A } from "./harness.ts";
import { one, requests, summary, to } from "./harness.ts";

const fromMember = (method: string, m: Source, o: Parameters<typeof request>[1] = {}) =>
  request(method, {
    uri: "sip:carol@198.51.100.30:5090",
    vias: [`SIP/2.0/${m.transport.toUpperCase()} ${m.host}:5060;branch=z9hG4bK-srv-${method}`],
    ...o,
  });

describe("requests from the backup", () => {
  test("an INVITE from the backup makes it the active member", () => {
    const h = new Harness();
    assert.equal(h.ha.activeMember("site-a")?.host, PRIMARY.host);
    const out = h.receive(fromMember("INVITE", BACKUP), BACKUP);
    assert.equal(h.ha.activeMember("site-a")?.host, BACKUP.host);
    const switched = h.haEvents.filter((e) => e.type === "switchover");
    assert.deepEqual(switched.map((e) => e.type === "switchover" && e.reason), [
      "traffic-from-backup",
    ]);
    // The request itself is routed as a member's: along its Request-URI.
    assert.equal(one(requests(out, "INVITE")).dest.host, "198.51.100.30");
  });

  test("after the switch, calls from endpoints go to the backup first, the old primary second", () => {
    const h = new Harness();
    h.receive(fromMember("BYE", BACKUP, { toTag: "t" }), BACKUP);
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    assert.equal(fwd.dest.host, BACKUP.host);
    const later = h.advance(1_000);
    const next = one(requests(to(later, PRIMARY), "INVITE"), "failover to the old primary");
    assert.equal(next.dest.host, PRIMARY.host);
  });

  test("an OPTIONS from the backup does not switch the pair", () => {
    const h = new Harness();
    h.receive(fromMember("OPTIONS", BACKUP), BACKUP);
    h.receive(request("OPTIONS", { uri: `sip:${ADVERTISE}` }), BACKUP);
    assert.equal(h.ha.activeMember("site-a")?.host, PRIMARY.host);
    assert.deepEqual(h.haEvents.filter((e) => e.type === "switchover"), []);
    assert.equal(one(requests(h.receive(request("INVITE")), "INVITE")).dest.host, PRIMARY.host);
  });

  test("a request from the active primary changes nothing", () => {
    const h = new Harness();
    h.receive(fromMember("INVITE", PRIMARY), PRIMARY);
    assert.equal(h.ha.activeMember("site-a")?.host, PRIMARY.host);
    assert.deepEqual(h.haEvents.filter((e) => e.type === "switchover"), []);
  });

  test("a request from an endpoint never switches a pair", () => {
    const h = new Harness();
    h.receive(request("INVITE", { uri: "sip:bob@10.0.0.12:5060", toTag: "t" }));
    assert.equal(h.ha.activeMember("site-a")?.host, PRIMARY.host);
  });

  test("over TCP the backup is recognised from an ephemeral source port by its Via", () => {
    const h = new Harness();
    const src: Source = { ...B_BACKUP, port: 40_123 };
    h.receive(fromMember("INVITE", B_BACKUP), src);
    assert.equal(h.ha.activeMember("site-b")?.host, B_BACKUP.host);
  });
});

describe("forward failures and the pair state", () => {
  test("a primary that times out and misses its probe is replaced by the backup", () => {
    const h = new Harness();
    h.allUp();
    h.receive(request("INVITE"));
    h.advance(1_000);
    assert.equal(h.forwardFailures.length, 1);
    h.probe([SITE_A.primary], () => h.ha.activeMember("site-a")?.host === BACKUP.host);
    const switched = h.haEvents.filter((e) => e.type === "switchover");
    assert.deepEqual(switched.map((e) => e.type === "switchover" && e.reason), [
      "forward-failure",
    ]);
    // With the primary down, the backup is the only hop.
    h.receive(request("INVITE", { callId: "second-call" }));
    const sent = requests(h.advance(5_000), "INVITE").filter((s) => s.msg.callId === "second-call");
    assert.ok(sent.length > 0);
    assert.ok(sent.every((s) => s.dest.host === BACKUP.host), summary(sent).join("\n"));
  });

  test("a 503 from the primary does not count against it", () => {
    const h = new Harness();
    assert.ok(h.ha.nextProbeDeadline() > h.haNow);
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    h.receive(answer(fwd.msg, 503), PRIMARY);
    assert.deepEqual(h.forwardFailures, []);
    assert.ok(h.ha.nextProbeDeadline() > h.haNow, "no probe pulled in");
  });
});
