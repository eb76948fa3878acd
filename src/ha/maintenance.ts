// Maintenance: the operator takes one member of a pair out of the path of new dialogs
// (POST /pairs/{pair}/members/{role}/maintenance), to upgrade or restart it without
// failing a call. Requests inside a dialog still go where they went (the active member
// first), so that calls already set up end normally. Putting the active member in
// maintenance switches the pair to the other one when that one is up (reason
// `maintenance`); ending maintenance switches nothing back (the active member is
// sticky, as everywhere in the HA core).
//
// A member whose pair has no other live member is not put in maintenance unless the
// operator insists (`force`): new calls to the pair would get 503. With `force`, that is
// what happens; in-dialog requests still reach it.
//
// The flag lives on the member's entry, so a reload keeps it for every member that stays
// configured (by server identity, whatever its pair is now called).

import type { Result } from "../result.ts";
import type { MemberEntry, PairEntry } from "./pair-entry.ts";
import { type OperatorError, unknownPair } from "./registry-types.ts";
import { type HaMemberSpec, otherRole, type Role } from "./types.ts";

export type MaintenanceError = OperatorError;

export type MaintenanceResult = Result<{
  pair: string;
  role: Role;
  member: string;
  maintenance: boolean;
  /** False when the member already was (or was not) in maintenance. */
  changed: boolean;
}, MaintenanceError>;

/** What to answer, and the member to make active (null: no switch). */
export interface MaintenancePlan {
  switchTo: Role | null;
  result: MaintenanceResult;
}

/** Sets (or clears) a member's maintenance flag; the caller applies `switchTo`. */
export function planMaintenance(
  name: string,
  entry: PairEntry | undefined,
  role: Role,
  on: boolean,
  force: boolean,
): MaintenancePlan {
  if (!entry) return { switchTo: null, result: unknownPair(name) };
  const m = entry.members[role];
  const other = entry.members[otherRole(role)];
  const otherServes = other.health.status === "up" && !other.maintenance;
  const isActive = entry.machine.activeRole === role;
  if (on && !m.maintenance && !force && !otherServes && (isActive || other.maintenance)) {
    const message = `the ${otherRole(role)} of pair "${name}" is not up and out of ` +
      `maintenance: new calls would get 503; use force to put ${role} in maintenance anyway`;
    return {
      switchTo: null,
      result: { ok: false, error: { code: "other-down", pair: name, member: m.spec.uri, message } },
    };
  }
  const changed = m.maintenance !== on;
  m.maintenance = on;
  return {
    switchTo: on && isActive && otherServes ? other.role : null,
    result: { ok: true, pair: name, role, member: m.spec.uri, maintenance: on, changed },
  };
}

/**
 * Where a request for the pair goes: the active member first, then the other unless it
 * is down. A request that starts a dialog (`newDialog`) skips members in maintenance.
 */
export function hopsOf(entry: PairEntry, newDialog: boolean): HaMemberSpec[] {
  const role = entry.machine.activeRole;
  if (!role) return [];
  const members = [entry.members[role]];
  const other = entry.members[otherRole(role)];
  if (other.health.status !== "down") members.push(other);
  return members.filter((m) => !(newDialog && m.maintenance)).map((m) => m.spec);
}

/**
 * After a reload: a member that was in maintenance and is still configured (the same
 * server, in a pair that started afresh) stays in maintenance.
 */
export function carryMaintenance(
  previous: Iterable<MemberEntry>,
  next: ReadonlyMap<string, MemberEntry>,
): void {
  for (const m of previous) {
    const kept = next.get(m.key);
    if (m.maintenance && kept) kept.maintenance = true;
  }
}
