/**
 * The background calls placed through vipless while the fuzzer runs. Two kinds: SIPp
 * (the Debian package sip-tester) for `npm run fuzz`, and the project's test UA for
 * the test in `npm test`, which must not depend on SIPp. The pair members that answer
 * them are the fuzz session's own (member.ts).
 */
export interface CallOutcome {
  placed: number;
  successful: number;
  failed: number;
  /** Why calls failed (SIPp's failure counters, or the statuses seen). */
  detail: string;
}

export interface Caller {
  readonly kind: "sipp" | "test-ua";
  /** Starts calls to vipless at `proxyPort`, `callsPerSecond` for about `seconds`. */
  startCalls(proxyPort: number, seconds: number, callsPerSecond: number): Promise<void>;
  /** Waits (bounded) for the calls to end and counts them. */
  finish(): Promise<CallOutcome>;
  /** Stops everything this caller started. */
  stop(): Promise<void>;
}
