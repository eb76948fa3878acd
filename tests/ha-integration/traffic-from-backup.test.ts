/**
 * A backup only sends requests once it has taken over (DESIGN §1, switch rule 2): the
 * first such request through vipless makes it the active member, before any probe
 * could tell. OPTIONS are health checks, not proof, so they never switch.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CALLEE, memberUri, RUNTIME, siteA, TEST_TIMEOUT_MS, withCleanup } from "./harness.ts";

describe(`switch on traffic from the backup (${RUNTIME})`, () => {
  it("OPTIONS from the backup do not switch; its INVITE does, and later calls go to it", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { primary, backup, vip, ua: phone } = await siteA(c, { ua: { name: "phone" } });
      const phoneUri = `sip:phone@127.0.0.1:${phone.address.port}`;
      const mark = vip.events().length;

      // OPTIONS to vipless itself, and OPTIONS relayed to an endpoint.
      const ping = await backup.sendRequest(vip.sip, "OPTIONS").result;
      assert.equal(ping.status, 200);
      const relayed = await backup.sendRequest(vip.sip, "OPTIONS", { uri: phoneUri }).result;
      assert.equal(relayed.status, 200);
      assert.equal(phone.requests("OPTIONS").length, 1, "the OPTIONS reached the endpoint");
      assert.equal((await vip.pair("site-a")).activeRole, "primary");
      assert.equal(vip.events().slice(mark).filter((e) => e.event === "switchover").length, 0);

      // The backup calls the phone: that request is the switch.
      const call = await backup.sendRequest(vip.sip, "INVITE", { uri: phoneUri }).result;
      assert.equal(call.status, 200);
      const { event } = await vip.waitForEvent({ event: "switchover", pair: "site-a" }, 2000, mark);
      assert.equal(event.reason, "traffic-from-backup");
      assert.equal(event.from, memberUri(primary));
      assert.equal(event.to, memberUri(backup));
      // Switched when the request arrived, not later: before the phone even saw it.
      const invitedAt = phone.requests("INVITE")[0].at;
      assert.ok(Date.parse(String(event.at)) <= invitedAt);
      assert.equal((await vip.pair("site-a")).activeRole, "backup");

      // The primary is still alive, yet endpoint calls now go to the backup.
      for (let i = 0; i < 3; i++) {
        const r = await phone.call(vip.sip, { to: CALLEE });
        assert.equal(r.status, 200);
        assert.equal(r.final?.get("server"), "vipless-test-backup");
      }
      assert.equal(primary.requests("INVITE").length, 0);
      assert.equal(backup.requests("INVITE").length, 3);
    }));
});
