// Public surface of the HA core: import from here.

export { addressKey, DEFAULT_SIP_PORT, memberKey, normaliseHost } from "./address.ts";
export type { ProbeResultCount, ProbeResultLabel, ProbeRtt } from "./ha-counters.ts";
export { Histogram, type HistogramSnapshot, RTT_BUCKETS_SECONDS } from "./histogram.ts";
export { MemberHealth } from "./member-health.ts";
export { HISTORY_LIMIT, PairMachine } from "./pair-machine.ts";
export { PairRegistry } from "./pair-registry.ts";
export type { ProbeDest } from "./probe-branches.ts";
export type {
  DueProbe,
  MemberLocation,
  PairRegistryOptions,
  ProbeAnswerSource,
  RequestOrigin,
  SwitchoverError,
  SwitchoverOptions,
  SwitchoverResult,
} from "./registry-types.ts";
export type { HaSnapshot, MemberSnapshot, PairSnapshot, SwitchoverSnapshot } from "./snapshot.ts";
export * from "./types.ts";
