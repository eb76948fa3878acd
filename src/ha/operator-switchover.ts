// An operator's switchover request (POST /pairs/:name/switchover): whether it may
// happen, and which member to make active. The registry applies the change.

import type { PairEntry } from "./pair-entry.ts";
import { type SwitchoverOptions, type SwitchoverResult, unknownPair } from "./registry-types.ts";
import { otherRole, type Role } from "./types.ts";

/** The member to make active (null: nothing to change) and the answer to give. */
export interface SwitchoverPlan {
  to: Role | null;
  result: SwitchoverResult;
}

export function planSwitchover(
  name: string,
  entry: PairEntry | undefined,
  options: SwitchoverOptions,
): SwitchoverPlan {
  if (!entry) return { to: null, result: unknownPair(name) };
  const from = entry.machine.activeRole;
  const to = options.to ?? otherRole(from ?? entry.machine.lastActiveRole);
  const target = entry.members[to];
  const fromUri = from === null ? null : entry.members[from].spec.uri;
  const done = (changed: boolean): SwitchoverResult => ({
    ok: true,
    pair: name,
    from: fromUri,
    to: target.spec.uri,
    changed,
  });
  if (from === to) return { to: null, result: done(false) };
  if (target.health.status === "down") {
    if (!options.force) {
      const message =
        `${to} ${target.spec.uri} of pair "${name}" is down; use force to switch anyway`;
      const error = { code: "other-down" as const, pair: name, member: target.spec.uri, message };
      return { to: null, result: { ok: false, error } };
    }
    // The operator overrides our verdict: start counting misses afresh, so the
    // target stays active until `probe.failures` new misses say otherwise.
    target.health.resetToUnknown();
  }
  return { to, result: done(true) };
}
