/**
 * A primary that dies under calls is found by its silence (ha/member-silence.ts): the
 * requests forwarded to it get nothing back for probe.timeout, vipless logs
 * member-silent, probes it at once, and that probe's miss takes it down. With
 * failover.timeout at 5 s, a switchover for reason forward-failure within a few
 * seconds can only come from that silence: no forwarded request timed out yet.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CALLEE,
  memberUri,
  RUNTIME,
  startServers,
  TEST_TIMEOUT_MS,
  Vipless,
  withCleanup,
} from "./harness.ts";
import { TestUa } from "../support/test-ua.ts";
import { sleep } from "../support/wait.ts";

describe(`a primary that goes silent under calls (${RUNTIME})`, () => {
  it(
    "is suspect after probe.timeout of silence and down after one probe, long before failover.timeout; every call completes",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const [primary, backup] = c.peersOf(await startServers(["primary", "backup"]));
        const { vip } = await Vipless.startWith(`serve: site-a
failover: { timeout: 5s }
pairs:
  - name: site-a
    primary: ${memberUri(primary)}
    backup: ${memberUri(backup)}
log: { level: debug, format: json }
`);
        c.vipless(vip);
        const ua = c.peer(await TestUa.start({ transport: "udp" }));
        await vip.waitAllUp(["site-a"]);
        assert.equal((await ua.call(vip.sip, { to: CALLEE })).status, 200);

        const mark = vip.events().length;
        const stoppedAt = Date.now();
        primary.stop();
        // A call every 50 ms for 3 s (60 calls), not waiting for each, while the test
        // watches the log.
        const calls: ReturnType<typeof ua.call>[] = [];
        const placing = (async () => {
          for (let i = 0; i < 60; i++) {
            calls.push(ua.call(vip.sip, { to: CALLEE }));
            await sleep(50);
          }
        })();
        const { event } = await vip.waitForEvent(
          { event: "switchover", pair: "site-a" },
          5_000,
          mark,
        );
        const after = Date.parse(String(event.at)) - stoppedAt;
        assert.equal(
          event.reason,
          "forward-failure",
          "found by its silence, not by two probe misses",
        );
        assert.ok(after < 5_000, `switchover ${after} ms after the primary stopped`);
        const silent = vip.events().slice(mark).filter((e) => e.event === "member-silent");
        assert.ok(silent.length >= 1, "member-silent logged");
        assert.equal(silent[0].port, primary.address.port);
        assert.equal(
          vip.events().slice(mark).filter((e) => e.event === "forward-failure").length,
          0,
          "no forwarded request reached failover.timeout",
        );
        await placing;
        const statuses = (await Promise.all(calls)).map((r) => r.status);
        assert.deepEqual(statuses.filter((s) => s !== 200), [], "every call completes");
        assert.equal((await vip.pair("site-a")).activeRole, "backup");
      }),
  );
});
