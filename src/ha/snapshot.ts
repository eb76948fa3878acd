// The JSON shape served by `GET /status`: plain data, times as ISO 8601 strings.

import type { MemberHealth } from "./member-health.ts";
import type { PairMachine } from "./pair-machine.ts";
import type {
  HaMemberSpec,
  HealthStatus,
  PairStateName,
  Role,
  Switchover,
  SwitchReason,
} from "./types.ts";

export interface MemberSnapshot {
  uri: string;
  role: Role;
  active: boolean;
  status: HealthStatus;
  /** `null` while no probe has answered or missed enough yet. */
  up: boolean | null;
  suspect: boolean;
  /** Put in maintenance by the operator: no new dialogs go to it. */
  maintenance: boolean;
  consecutiveFailures: number;
  lastProbeAt: string | null;
  lastAnswerAt: string | null;
  rttMs: number | null;
  lastStatusCode: number | null;
}

export interface SwitchoverSnapshot {
  at: string;
  from: string | null;
  to: string | null;
  fromRole: Role | null;
  toRole: Role | null;
  reason: SwitchReason;
}

export interface PairSnapshot {
  name: string;
  state: PairStateName;
  inService: boolean;
  /** URI of the active member, null when out of service. */
  active: string | null;
  activeRole: Role | null;
  /** When the pair entered its current state. */
  since: string;
  members: MemberSnapshot[];
  switchoverCount: number;
  /** The last 20 state changes, oldest first. */
  switchovers: SwitchoverSnapshot[];
}

export interface HaSnapshot {
  at: string;
  switchoverCount: number;
  pairs: PairSnapshot[];
}

/** Wall-clock milliseconds since the epoch to ISO 8601. */
export const toIso = (ms: number): string => new Date(ms).toISOString();

export interface MemberView {
  role: Role;
  spec: HaMemberSpec;
  health: MemberHealth;
  maintenance: boolean;
}

/**
 * The HA core keeps times on its own (monotonic) clock; `wallOffset` is what to add to
 * one of them to get wall-clock milliseconds since the epoch.
 */
export function memberSnapshot(
  view: MemberView,
  activeRole: Role | null,
  wallOffset = 0,
): MemberSnapshot {
  const h = view.health;
  const isoOrNull = (ms: number | null) => (ms === null ? null : toIso(ms + wallOffset));
  return {
    uri: view.spec.uri,
    role: view.role,
    active: view.role === activeRole,
    status: h.status,
    up: h.status === "unknown" ? null : h.status === "up",
    suspect: h.suspect,
    maintenance: view.maintenance,
    consecutiveFailures: h.consecutiveFailures,
    lastProbeAt: isoOrNull(h.lastProbeAt),
    lastAnswerAt: isoOrNull(h.lastAnswerAt),
    rttMs: h.lastRttMs,
    lastStatusCode: h.lastStatusCode,
  };
}

export function switchoverSnapshot(s: Switchover, wallOffset = 0): SwitchoverSnapshot {
  return { ...s, at: toIso(s.at + wallOffset) };
}

export function pairSnapshot(
  name: string,
  machine: PairMachine,
  members: readonly MemberView[],
  wallOffset = 0,
): PairSnapshot {
  const activeRole = machine.activeRole;
  const active = members.find((m) => m.role === activeRole);
  return {
    name,
    state: machine.state,
    inService: activeRole !== null,
    active: active ? active.spec.uri : null,
    activeRole,
    since: toIso(machine.activeSince + wallOffset),
    members: members.map((m) => memberSnapshot(m, activeRole, wallOffset)),
    switchoverCount: machine.switchoverCount,
    switchovers: machine.history.map((s) => switchoverSnapshot(s, wallOffset)),
  };
}
