// The narrow slices of the configuration that the HA core reads, and the facts it
// reports. The service builds `HaConfig` from the config module's `Config`
// (src/service/ha-config.ts); `ha` does not import the config module.

export type Transport = import("../net/transport.ts").Transport;

/** One SIP server of a pair, as the config module parses `sip:10.0.0.11:5060;transport=tcp`. */
export interface HaMemberSpec {
  uri: string;
  scheme: "sip" | "sips";
  host: string;
  port: number;
  transport: Transport;
}

export interface HaPairSpec {
  name: string;
  primary: HaMemberSpec;
  backup: HaMemberSpec;
}

/** An inclusive range of SIP status codes. */
export interface CodeRange {
  from: number;
  to: number;
}

/**
 * Probe timing in milliseconds. `up_codes` arrives parsed: the config module owns that
 * syntax ("2xx, 404", [200, 404]), so what check-config accepts the HA core runs.
 */
export interface HaProbeSpec {
  interval: number;
  force_interval: number;
  timeout: number;
  failures: number;
  /** Consecutive good answers before a down member is up again (HAProxy's `rise`). */
  rise: number;
  up_codes: readonly CodeRange[];
}

export interface HaConfig {
  probe: HaProbeSpec;
  pairs: readonly HaPairSpec[];
}

export type Role = "primary" | "backup";

export const otherRole = (role: Role): Role => (role === "primary" ? "backup" : "primary");

/** "unknown" until the first probe result (or proof of life) arrives. */
export type HealthStatus = "unknown" | "up" | "down";

export type PairStateName = "active-primary" | "active-backup" | "out-of-service";

/**
 * Why the active member changed.
 * `recovery` is a pair leaving out-of-service because a member answered again;
 * `maintenance` is the active member put in maintenance by the operator.
 */
export const SWITCH_REASONS = [
  "probe-timeout",
  "traffic-from-backup",
  "forward-failure",
  "manual",
  "maintenance",
  "recovery",
] as const;

export type SwitchReason = typeof SWITCH_REASONS[number];

/** One change of a pair's state. `null` on either side means "no active member". */
export interface Switchover {
  at: number;
  from: string | null;
  to: string | null;
  fromRole: Role | null;
  toRole: Role | null;
  reason: SwitchReason;
}

/** Why a probe counted as a miss. */
export type ProbeMissCause = "timeout" | "transport-error" | "bad-status";

/**
 * One event per state change. `member`, `from` and `to` are member URIs; `at` is the
 * injected (monotonic) clock in milliseconds.
 */
export type HaEvent =
  | {
    type: "member-up";
    pair: string;
    member: string;
    role: Role;
    at: number;
  }
  | {
    type: "member-down";
    pair: string;
    member: string;
    role: Role;
    cause: ProbeMissCause;
    at: number;
  }
  | {
    type: "switchover";
    pair: string;
    from: string | null;
    to: string;
    reason: SwitchReason;
    at: number;
  }
  | {
    type: "pair-out-of-service";
    pair: string;
    from: string | null;
    reason: SwitchReason;
    at: number;
  }
  /** The member changed state `changes` times within a minute (reported once a minute). */
  | {
    type: "member-flapping";
    pair: string;
    member: string;
    role: Role;
    changes: number;
    at: number;
  };

export type HaEventListener = (event: HaEvent) => void;
