/**
 * Health judgement that holds under load (issue 11): while both members answer, a load
 * of calls and a pause of vipless itself (SIGSTOP for 1.5 s, as a long GC pause or a
 * descheduled VM would) cause no HA event: no member is marked down, no switchover,
 * and every call completes. Bounded: 10 rounds of 20 calls on loopback.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { CALLEE, RUNTIME, siteA, TEST_TIMEOUT_MS, withCleanup } from "./harness.ts";
import { sleep } from "../support/wait.ts";

const HA_EVENTS = new Set(["member-down", "switchover", "pair-out-of-service", "member-flapping"]);

describe(`no false failover while both members are healthy (${RUNTIME})`, () => {
  it("200 calls and a 1.5 s stall of vipless itself cause no HA event", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { vip, ua } = await siteA(c);
      const mark = vip.events().length;
      const pid = vip.proc.child.pid!;
      let answered = 0;
      for (let round = 0; round < 10; round++) {
        const calls = Array.from({ length: 20 }, () => ua.call(vip.sip, { to: CALLEE }));
        if (round === 5) {
          // The calls are forwarded and answered; vipless stops before it reads the
          // answers, longer than the failover and probe timeouts.
          await sleep(20);
          process.kill(pid, "SIGSTOP");
          await sleep(1500);
          process.kill(pid, "SIGCONT");
        }
        answered += (await Promise.all(calls)).filter((r) => r.status === 200).length;
      }
      assert.equal(answered, 200, "every call completes");
      // A probe round after the stall, in case a verdict was pending.
      await sleep(1500);
      const ha = vip.events().slice(mark).filter((e) => HA_EVENTS.has(String(e.event)));
      assert.deepEqual(ha, [], "no HA event while both members answer");
      const pair = await vip.pair("site-a");
      assert.equal(pair.activeRole, "primary");
    }));
});
