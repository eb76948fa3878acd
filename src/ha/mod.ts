// Public surface of the HA core: import from here.

export { addressKey, DEFAULT_SIP_PORT, memberKey, normaliseHost } from "./address.ts";
export { type CodeSet, type CodeSetResult, parseCodeSet, tryParseCodeSet } from "./code-set.ts";
export {
  HaState,
  type HaStateOptions,
  type MemberLocation,
  type ProbeResultLabel,
  type RequestOrigin,
  type SwitchoverError,
  type SwitchoverOptions,
  type SwitchoverResult,
} from "./ha-state.ts";
export { Histogram, type HistogramSnapshot, RTT_BUCKETS_SECONDS } from "./histogram.ts";
export { MemberHealth } from "./member-health.ts";
export { HISTORY_LIMIT, PairMachine } from "./pair-machine.ts";
export {
  type ProbeOutcome,
  Prober,
  type ProbeRequest,
  type ProberHooks,
  type ProbeTarget,
  type ProbeTiming,
} from "./prober.ts";
export type { HaSnapshot, MemberSnapshot, PairSnapshot, SwitchoverSnapshot } from "./snapshot.ts";
export * from "./types.ts";
