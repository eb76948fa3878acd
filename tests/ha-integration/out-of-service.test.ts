/**
 * Both members down: the pair is out of service and vipless says so to everyone
 * (503 with Retry-After to INVITE and to OPTIONS addressed to it, 503 on /ready)
 * instead of letting calls hang; the first member that answers again takes over.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CALLEE, memberUri, siteA, withCleanup } from "./harness.ts";
import { DETECTION_BOUND_MS, RUNTIME, TEST_TIMEOUT_MS } from "./harness.ts";

describe(`pair out of service (${RUNTIME})`, () => {
  it(
    "answers 503 with Retry-After while both members are down, and recovers with the first one back",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const { primary, backup, vip, ua } = await siteA(c);
        assert.equal((await ua.options(vip.sip)).status, 200);
        assert.equal((await vip.http("/ready")).status, 200);

        const mark = vip.events().length;
        primary.stop();
        backup.stop();
        await vip.waitForEvent(
          { event: "pair-out-of-service", pair: "site-a" },
          DETECTION_BOUND_MS * 3,
          mark,
        );

        const invite = await ua.call(vip.sip, { to: CALLEE });
        assert.equal(invite.status, 503);
        assert.match(invite.final?.get("retry-after") ?? "", /^\d+/);
        const ready = await vip.http("/ready");
        assert.equal(ready.status, 503);
        assert.equal((await ready.json()).ready, false);
        const options = await ua.options(vip.sip);
        assert.equal(options.status, 503);
        assert.match(options.final?.get("retry-after") ?? "", /^\d+/);
        const status = await vip.pair("site-a");
        assert.equal(status.inService, false);
        assert.equal(status.active, null);

        // The backup comes back first: it becomes active, and calls work again.
        const backMark = vip.events().length;
        await backup.restart();
        const { event } = await vip.waitForEvent(
          { event: "switchover", pair: "site-a" },
          DETECTION_BOUND_MS * 2,
          backMark,
        );
        assert.equal(event.reason, "recovery");
        assert.equal(event.to, memberUri(backup));
        assert.equal((await vip.http("/ready")).status, 200);
        assert.equal((await ua.options(vip.sip)).status, 200);
        const call = await ua.call(vip.sip, { to: CALLEE });
        assert.equal(call.status, 200);
        assert.equal(call.final?.get("server"), "vipless-test-backup");
        assert.equal((await call.dialog!.bye()).status, 200);
      }),
  );
});
