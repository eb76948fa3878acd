/**
 * Several pairs, one served (DESIGN §1 "Routing"): a SIP server reaches another site
 * by naming any member of that site's pair and lands on whichever member is active
 * there; endpoints only ever reach the served pair; and nobody outside the pairs can
 * use vipless to reach an arbitrary host (no open relay).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { TestUa } from "../support/test-ua.ts";
import { sleep } from "../support/wait.ts";
import {
  DETECTION_BOUND_MS,
  memberUri,
  pairOf,
  RUNTIME,
  startServers,
  TEST_TIMEOUT_MS,
  Vipless,
  withCleanup,
} from "./harness.ts";

/** A request URI with a user part at a fake server's address. */
const userAt = (s: { address: { port: number } }, user = "agent") =>
  `sip:${user}@127.0.0.1:${s.address.port}`;

describe(`multi-site routing (${RUNTIME})`, () => {
  it(
    "a site-a server naming a site-b member reaches site-b's active member, also after site-b switched",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const [a1, a2, b1, b2] = c.peersOf(await startServers(["a1", "a2", "b1", "b2"]));
        const vip = c.vipless(
          await Vipless.start({ pairs: [pairOf("site-a", a1, a2), pairOf("site-b", b1, b2)] }),
        );
        await vip.waitAllUp(["site-a", "site-b"]);

        const first = await a1.sendRequest(vip.sip, "INVITE", { uri: userAt(b1) }).result;
        assert.equal(first.status, 200);
        assert.equal(first.final?.get("server"), "vipless-test-b1");

        const mark = vip.events().length;
        b1.stop();
        const { event } = await vip.waitForEvent(
          { event: "switchover", pair: "site-b" },
          DETECTION_BOUND_MS * 2,
          mark,
        );
        assert.equal(event.to, memberUri(b2));

        // Still naming the old primary b1: the request goes to b2, site-b's active member.
        const second = await a1.sendRequest(vip.sip, "INVITE", { uri: userAt(b1) }).result;
        assert.equal(second.status, 200);
        assert.equal(second.final?.get("server"), "vipless-test-b2");
        const message = await a1.sendRequest(vip.sip, "MESSAGE", { uri: userAt(b1) }).result;
        assert.equal(message.status, 200);
        assert.equal(b2.requests("MESSAGE").length, 1);
        // Site-a was not touched by site-b's failover, nor by its own server's traffic.
        assert.equal((await vip.pair("site-a")).activeRole, "primary");
        assert.equal(a2.requests("INVITE").length + a2.requests("MESSAGE").length, 0);
      }),
  );

  it("endpoint requests go to the served pair's active member whatever their Request-URI names", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const [a1, a2, b1, b2] = c.peersOf(await startServers(["a1", "a2", "b1", "b2"]));
      const stranger = c.peer(await FakeSipServer.start({ transport: "udp", name: "stranger" }));
      const vip = c.vipless(
        await Vipless.start({ pairs: [pairOf("site-a", a1, a2), pairOf("site-b", b1, b2)] }),
      );
      const ua = c.peer(await TestUa.start({ transport: "udp" }));
      await vip.waitAllUp(["site-a", "site-b"]);

      for (const target of [userAt(b1), userAt(b2), userAt(a2), userAt(stranger)]) {
        const r = await ua.call(vip.sip, { to: target });
        assert.equal(r.status, 200, target);
        assert.equal(r.final?.get("server"), "vipless-test-a1", `${target} went to a1`);
      }
      assert.equal(a1.requests("INVITE").length, 4);
      for (const s of [a2, b1, b2, stranger]) assert.equal(s.requests("INVITE").length, 0);
    }));

  it("never relays a non-member's request to a host that is no pair member", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const [a1, a2] = c.peersOf(await startServers(["a1", "a2"]));
      const stranger = c.peer(await FakeSipServer.start({ transport: "udp", name: "stranger" }));
      const vip = c.vipless(await Vipless.start({ pairs: [pairOf("site-a", a1, a2)] }));
      const ua = c.peer(await TestUa.start({ transport: "udp" }));
      await vip.waitAllUp(["site-a"]);
      const there = userAt(stranger, "victim");
      const route = `<sip:127.0.0.1:${stranger.address.port};lr>`;
      const dialogTo = `<${there}>;tag=remote1`;

      // Initial requests, in-dialog requests, a Route set and a 2xx-style ACK: every
      // way a request could name the stranger as its next hop.
      const results = [
        await ua.call(vip.sip, { to: there }),
        await ua.request(vip.sip, "MESSAGE", { uri: there, body: "hi", contentType: "text/plain" })
          .result,
        await ua.request(vip.sip, "BYE", { uri: there, to: dialogTo }).result,
        await ua.request(vip.sip, "INFO", { uri: there, to: dialogTo, route: [route] }).result,
        await ua.request(vip.sip, "OPTIONS", { uri: there }).result,
      ];
      for (const r of results) assert.ok(r.final, "each request got a final response");
      await ua.send(
        ua.buildRequestText("ACK", { uri: there, to: dialogTo, cseq: 7, route: [route] }),
        vip.sip,
      );
      // The ACK has no response: give it time to arrive wherever it goes.
      await a1.waitFor((r) => r.msg.method === "ACK" && r.msg.get("cseq") === "7 ACK", 3000);
      await sleep(200);
      assert.deepEqual(
        stranger.received.map((r) => r.msg.startLine),
        [],
        "the stranger received nothing",
      );
      for (const m of ["INVITE", "MESSAGE", "BYE", "INFO", "OPTIONS"]) {
        const toThere = a1.requests(m).filter((r) => r.msg.uri === there);
        assert.equal(toThere.length, 1, `${m} went to the served pair`);
      }
    }));
});
