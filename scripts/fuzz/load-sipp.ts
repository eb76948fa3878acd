/** Background calls by a SIPp UAC: the benchmark's scenario (scripts/bench/proxy/sipp.ts). */
import type { Child } from "../bench/proxy/children.ts";
import { startUac, type UacResult } from "../bench/proxy/sipp.ts";
import { freePort } from "../../tests/support/vipless-process.ts";
import type { Caller, CallOutcome } from "./load.ts";

/** Length of one background call (ACK to BYE), ms. */
const CALL_MS = 500;

export function sippCaller(dir: string): Caller {
  let uac: { child: Child; finish(): Promise<UacResult> } | undefined;
  return {
    kind: "sipp",
    async startCalls(proxyPort, seconds, callsPerSecond) {
      uac = startUac({
        target: proxyPort,
        localPort: await freePort(),
        rate: callsPerSecond,
        calls: Math.max(1, Math.ceil(seconds * callsPerSecond)),
        callMs: CALL_MS,
        dir,
        label: "uac",
      });
    },
    async finish(): Promise<CallOutcome> {
      if (!uac) return { placed: 0, successful: 0, failed: 0, detail: "no calls started" };
      const r = await uac.finish();
      const reasons = r.reasons.length ? `, ${r.reasons.join(", ")}` : "";
      return {
        placed: r.calls,
        successful: r.successful,
        failed: r.failed,
        detail: `SIPp exit ${r.exitCode}${reasons}, ${r.retransmissions} retransmissions`,
      };
    },
    async stop() {
      await uac?.child.stop();
    },
  };
}
