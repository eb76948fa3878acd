/**
 * Draining before a stop (SIGTERM): the SIP core refuses new dialogs and says it is not
 * ready (sip-core.ts `drain`); this waits until no transaction waits for an answer any
 * more, or until `timeoutMs`, whichever comes first.
 *
 * Transactions that only absorb retransmissions (their final answer is out: Timers D,
 * I, J, K, L, M) are not waited for: they would keep a stop waiting up to 32 s for
 * nothing, and a retransmission that reaches the restarted instance is still answered
 * (a request) or relayed statelessly (a 2xx retransmission, by its Via).
 */
import type { Runtime } from "../runtime/types.ts";

/** How often the count is looked at: a drain ends within this of its last transaction. */
const POLL_MS = 20;

export interface DrainResult {
  /** Transactions still waiting when the drain ended (0 unless it timed out). */
  left: number;
  waitedMs: number;
}

export function waitForDrain(
  rt: Runtime,
  busy: () => number,
  timeoutMs: number,
): Promise<DrainResult> {
  const start = rt.monotonic();
  return new Promise((resolve) => {
    const look = () => {
      const left = busy();
      const waitedMs = rt.monotonic() - start;
      if (left === 0 || waitedMs >= timeoutMs) return resolve({ left, waitedMs });
      rt.setTimer(Math.min(POLL_MS, timeoutMs - waitedMs), look);
    };
    look();
  });
}
