// What the registry keeps per pair and per member, and how a pair is identified
// across a reload: by its two servers, not by its name.

import { memberKey } from "./address.ts";
import { ProbeStats } from "./ha-counters.ts";
import { MemberHealth } from "./member-health.ts";
import { PairMachine } from "./pair-machine.ts";
import type { MemberLocation } from "./registry-types.ts";
import type { HaMemberSpec, HaPairSpec, Role } from "./types.ts";

export interface MemberEntry {
  /** Stable identity of the server (see `memberKey`); the prober knows it by this. */
  key: string;
  pair: PairEntry;
  role: Role;
  spec: HaMemberSpec;
  health: MemberHealth;
  stats: ProbeStats;
  /** In maintenance: no new dialogs go to it (maintenance.ts). */
  maintenance: boolean;
}

export interface PairEntry {
  name: string;
  machine: PairMachine;
  members: Record<Role, MemberEntry>;
}

export const ROLES: readonly Role[] = ["primary", "backup"];

export function freshPair(spec: HaPairSpec, now: number): PairEntry {
  const pair = {
    name: spec.name,
    machine: new PairMachine({ primary: spec.primary.uri, backup: spec.backup.uri }, now),
  } as PairEntry;
  const member = (role: Role): MemberEntry => ({
    key: memberKey(spec[role]),
    pair,
    role,
    spec: spec[role],
    health: new MemberHealth(),
    stats: new ProbeStats(),
    maintenance: false,
  });
  pair.members = { primary: member("primary"), backup: member("backup") };
  return pair;
}

export function locationOf(m: MemberEntry): MemberLocation {
  return { pair: m.pair.name, role: m.role, member: m.spec };
}

/** Same primary and backup servers: the same pair, even when renamed. */
export function pairIdentity(primary: HaMemberSpec, backup: HaMemberSpec): string {
  return `${memberKey(primary)} ${memberKey(backup)}`;
}
