/** Background calls by the project's test UA (tests/support): INVITE, ACK, BYE, a few at a time. */
import { TestUa } from "../../tests/support/test-ua.ts";
import type { Caller, CallOutcome } from "./load.ts";

const CALLEE = "sip:bob@sip.example.com";
/** A request that has no final answer this long has failed. */
const CALL_TIMEOUT_MS = 10_000;

export async function testUaCaller(): Promise<Caller> {
  const ua = await TestUa.start({ transport: "udp", name: "caller", host: "127.0.0.1" });
  const outcome: CallOutcome = { placed: 0, successful: 0, failed: 0, detail: "" };
  const failures = new Map<string, number>();
  const fail = (why: string) => {
    outcome.failed++;
    failures.set(why, (failures.get(why) ?? 0) + 1);
  };
  let running: Promise<void> | undefined;

  async function oneCall(proxyPort: number): Promise<void> {
    outcome.placed++;
    try {
      const target = { host: "127.0.0.1", port: proxyPort };
      const r = await ua.call(target, { to: CALLEE, timeoutMs: CALL_TIMEOUT_MS });
      if (r.status !== 200 || !r.dialog) return fail(`INVITE ${r.status}`);
      const bye = await r.dialog.bye({ timeoutMs: CALL_TIMEOUT_MS });
      if (bye.status !== 200) return fail(`BYE ${bye.status}`);
      outcome.successful++;
    } catch (e) {
      fail((e as Error).message.slice(0, 80));
    }
  }

  return {
    kind: "test-ua",
    startCalls(proxyPort, seconds, callsPerSecond) {
      const total = Math.max(1, Math.ceil(seconds * callsPerSecond));
      running = (async () => {
        const open: Promise<void>[] = [];
        for (let i = 0; i < total; i++) {
          open.push(oneCall(proxyPort));
          await new Promise((r) => setTimeout(r, 1000 / callsPerSecond));
        }
        await Promise.all(open);
      })();
      return Promise.resolve();
    },
    async finish() {
      await running;
      outcome.detail = [...failures].map(([k, v]) => `${v}x ${k}`).join(", ");
      return outcome;
    },
    stop() {
      ua.stop();
      return Promise.resolve();
    },
  };
}
