/**
 * Both members killed and restarted under load (issue 11, goal 4): while a bounded load
 * of calls runs, both members stop (the pair goes out of service and callers get 503 at
 * once), then both come back on the same ports; service must come back by itself, every
 * call after it succeeds, and no member is logged as flapping. Bounded: at most 120
 * rounds of 5 calls, 100 ms apart, on loopback.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CALLEE, DETECTION_BOUND_MS, RUNTIME, siteA, TEST_TIMEOUT_MS } from "./harness.ts";
import { withCleanup } from "./harness.ts";
import { sleep } from "../support/wait.ts";

const CALLS_PER_ROUND = 5;
const MAX_ROUNDS = 120;

describe(`both members killed and restarted under load (${RUNTIME})`, () => {
  it("the pair comes back into service by itself and every call after that succeeds", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { primary, backup, vip, ua } = await siteA(c);
      const mark = vip.events().length;
      const statuses: Array<{ round: number; status: number }> = [];
      let stopping = false;
      // The load: rounds of parallel calls until told to stop (or MAX_ROUNDS).
      const load = (async () => {
        for (let round = 0; round < MAX_ROUNDS && !stopping; round++) {
          const calls = Array.from({ length: CALLS_PER_ROUND }, () =>
            ua.call(vip.sip, { to: CALLEE }).then(async (r) => {
              if (r.status === 200) {
                await r.dialog!.bye();
              }
              statuses.push({ round, status: r.status });
            }));
          await Promise.all([...calls, sleep(100)]);
        }
      })();
      try {
        await sleep(1000);
        primary.stop();
        backup.stop();
        await vip.waitForEvent(
          { event: "pair-out-of-service", pair: "site-a" },
          DETECTION_BOUND_MS * 3,
          mark,
        );
        const refusedFrom = statuses.length;
        await sleep(1000);
        assert.ok(
          statuses.slice(refusedFrom).some((s) =>
            s.status === 503
          ),
          "out of service, callers are refused at once",
        );
        const back = vip.events().length;
        await primary.restart();
        await backup.restart();
        await vip.waitForEvent(
          { event: "switchover", pair: "site-a" },
          DETECTION_BOUND_MS * 2,
          back,
        );
        // Every round started after the pair is back in service succeeds.
        const inService = statuses.length;
        await sleep(2000);
        const after = statuses.slice(inService);
        assert.ok(after.length >= CALLS_PER_ROUND, `calls placed after recovery: ${after.length}`);
        const firstRound = Math.min(...after.map((s) => s.round)) + 1;
        const later = after.filter((s) => s.round >= firstRound);
        assert.ok(later.length > 0);
        assert.deepEqual(later.filter((s) => s.status !== 200), [], "every call after recovery");
      } finally {
        stopping = true;
        await load;
      }
      const flapping = vip.events().slice(mark).filter((e) => e.event === "member-flapping");
      assert.deepEqual(flapping, [], "a restart is no flapping");
      assert.equal((await vip.pair("site-a")).inService, true);
    }));
});
