/**
 * A primary that dies: probes notice it within the configured bound, the backup takes
 * over, calls placed while nobody has noticed yet still succeed, and the old primary
 * does not take traffic back when it returns (the active member is sticky).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CALLEE, memberUri, siteA, withCleanup } from "./harness.ts";
import { DETECTION_BOUND_MS, RUNTIME, TEST_TIMEOUT_MS } from "./harness.ts";
import { sleep } from "../support/wait.ts";

describe(`failover when the primary dies (${RUNTIME})`, () => {
  it(
    "switches to the backup within interval × failures + timeout, and stays there when the primary returns",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const { primary, backup, vip, ua } = await siteA(c);

        const before = await ua.call(vip.sip, { to: CALLEE });
        assert.equal(before.status, 200);
        assert.equal(primary.requests("INVITE").length, 1, "calls go to the primary first");

        const mark = vip.events().length;
        const stoppedAt = Date.now();
        primary.stop();
        const { event } = await vip.waitForEvent(
          { event: "switchover", pair: "site-a" },
          DETECTION_BOUND_MS * 2,
          mark,
        );
        const detectedAfter = Date.parse(String(event.at)) - stoppedAt;
        assert.ok(
          detectedAfter <= DETECTION_BOUND_MS,
          `switchover ${detectedAfter} ms after the primary stopped (bound ${DETECTION_BOUND_MS} ms)`,
        );
        assert.equal(event.reason, "probe-timeout");
        assert.equal(event.from, memberUri(primary));
        assert.equal(event.to, memberUri(backup));

        const status = await vip.pair("site-a");
        assert.equal(status.activeRole, "backup");
        assert.equal(status.active, memberUri(backup));
        assert.equal(status.members.find((m) => m.role === "primary")?.status, "down");
        assert.equal((await vip.http("/ready")).status, 200);

        const after = await ua.call(vip.sip, { to: CALLEE });
        assert.equal(after.status, 200);
        assert.equal(backup.requests("INVITE").length, 1);

        // Stickiness: the old primary answers probes again but gets no calls.
        const upMark = vip.events().length;
        await primary.restart();
        await vip.waitForEvent(
          { event: "member-up", pair: "site-a", role: "primary" },
          DETECTION_BOUND_MS * 2,
          upMark,
        );
        for (let i = 0; i < 3; i++) {
          assert.equal((await ua.call(vip.sip, { to: CALLEE })).status, 200);
        }
        assert.equal(primary.requests("INVITE").length, 1, "the returned primary got no new call");
        assert.equal(backup.requests("INVITE").length, 4);
        const sticky = await vip.pair("site-a");
        assert.equal(sticky.activeRole, "backup");
        assert.equal(sticky.members.find((m) => m.role === "primary")?.status, "up");
        assert.equal(
          vip.events().slice(upMark).filter((e) => e.event === "switchover").length,
          0,
          "no switchover back to the primary",
        );
      }),
  );

  it("retries the requests sent during the outage on the backup: zero failed calls", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { primary, backup, vip, ua } = await siteA(c);

      // A call set up on the primary before it dies: its BYE must still be answered.
      const early = await ua.call(vip.sip, { to: CALLEE });
      assert.equal(early.final?.get("server"), "vipless-test-primary");

      const mark = vip.events().length;
      primary.stop();
      const earlyBye = early.dialog!.bye();
      // One call every 150 ms from the moment the primary dies until well after the
      // switch: the first ones can only succeed through the per-call retry.
      const started: number[] = [];
      const calls: ReturnType<typeof ua.call>[] = [];
      for (let i = 0; i < 12; i++) {
        started.push(Date.now());
        calls.push(ua.call(vip.sip, { to: CALLEE }));
        await sleep(150);
      }
      const results = await Promise.all(calls);
      const bye = await earlyBye;
      assert.equal(bye.status, 200, "the BYE of a call on the dead primary is answered");
      assert.equal(bye.final?.get("server"), "vipless-test-backup");
      assert.deepEqual(
        results.map((r) => r.status),
        results.map(() => 200),
        "every call attempt succeeds",
      );

      const { event } = await vip.waitForEvent({ event: "switchover", pair: "site-a" }, 5000, mark);
      assert.equal(event.to, memberUri(backup));
      const switchedAt = Date.parse(String(event.at));
      assert.ok(
        started.filter((t) => t < switchedAt).length >= 1,
        "at least one call was placed before the switch was detected",
      );
      // Every call reached the backup (and the answer came from there).
      const atBackup = new Set(backup.requests("INVITE").map((r) => r.msg.get("call-id")));
      for (const r of results) assert.ok(atBackup.has(r.final?.get("call-id")));
      for (const r of results) assert.equal(r.final?.get("server"), "vipless-test-backup");
      // The dialogs work after the failover: BYE reaches the backup through vipless.
      for (const r of results) assert.equal((await r.dialog!.bye()).status, 200);
      assert.equal(backup.requests("BYE").length, results.length + 1);
    }));

  it("completes on the backup a call that was ringing on the primary when it died", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { primary, vip, ua } = await siteA(c);
      // The primary rings and would answer much later: it dies first.
      primary.answer = { final: 200, provisional: [180], finalDelayMs: 30_000 };

      const call = ua.invite(vip.sip, { to: CALLEE, timeoutMs: 20_000 });
      await call.waitForResponse(180, 5000);
      const mark = vip.events().length;
      primary.stop();
      const r = await call.result;
      assert.equal(r.status, 200, "the call is answered, not left ringing until Timer C");
      assert.equal(r.final?.get("server"), "vipless-test-backup");
      const { event } = await vip.waitForEvent(
        { event: "member-down", role: "primary" },
        1000,
        mark,
      );
      assert.ok(Date.parse(String(event.at)) <= Date.now());
      assert.equal((await r.dialog!.bye()).status, 200);
    }));
});
