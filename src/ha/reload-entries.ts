// The registry's entries for a (re)loaded config: a pair whose primary and backup are
// the same servers as before keeps its entry (health, active member, history, counters,
// maintenance flags), even when renamed; every other pair starts afresh. A member in
// maintenance that stays configured in a fresh pair stays in maintenance.

import { carryMaintenance } from "./maintenance.ts";
import { freshPair, type MemberEntry, type PairEntry, pairIdentity, ROLES } from "./pair-entry.ts";
import type { HaPairSpec } from "./types.ts";

export interface Entries {
  pairs: Map<string, PairEntry>;
  /** By member key. */
  members: Map<string, MemberEntry>;
}

export function reloadEntries(
  specs: readonly HaPairSpec[],
  previous: Iterable<PairEntry>,
  now: number,
): Entries {
  const byIdentity = new Map<string, PairEntry>();
  const before: MemberEntry[] = [];
  for (const p of previous) {
    byIdentity.set(pairIdentity(p.members.primary.spec, p.members.backup.spec), p);
    before.push(...ROLES.map((r) => p.members[r]));
  }
  const pairs = new Map<string, PairEntry>();
  const members = new Map<string, MemberEntry>();
  for (const spec of specs) {
    const kept = byIdentity.get(pairIdentity(spec.primary, spec.backup));
    byIdentity.delete(pairIdentity(spec.primary, spec.backup));
    const entry: PairEntry = kept ?? freshPair(spec, now);
    entry.name = spec.name;
    entry.machine.setUris({ primary: spec.primary.uri, backup: spec.backup.uri });
    for (const role of ROLES) {
      const m = entry.members[role];
      m.spec = spec[role];
      members.set(m.key, m);
    }
    pairs.set(spec.name, entry);
  }
  carryMaintenance(before, members);
  return { pairs, members };
}
