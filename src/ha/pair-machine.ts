// The state machine of one pair: the only writer of "who is active".
//
//   active-primary ⇄ active-backup     (the active member went down and the other is up,
//        ↘      ↗    ↖      ↙          traffic from the non-active member, manual)
//        out-of-service                 (both down; the first member that answers wins)
//
// The active member is sticky: a member coming back up never takes traffic back by
// itself. The machine only decides; member health lives in `MemberHealth` and the
// caller passes the facts in.

import { otherRole } from "./types.ts";
import type { HealthStatus, PairStateName, Role, Switchover, SwitchReason } from "./types.ts";

export const HISTORY_LIMIT = 20;

const stateOf = (role: Role | null): PairStateName =>
  role === null ? "out-of-service" : role === "primary" ? "active-primary" : "active-backup";

export class PairMachine {
  #active: Role | null = "primary";
  /** The last member that was active, kept while out of service. */
  #lastActive: Role = "primary";
  readonly #recent: Switchover[] = [];
  #count = 0;
  /** State changes by reason since start: the switchover counters (kept across renames). */
  readonly #byReason = new Map<SwitchReason, number>();
  #since: number;
  #uris: Record<Role, string>;

  /** At start the primary is assumed active until probes say otherwise. */
  constructor(uris: Record<Role, string>, now: number) {
    this.#uris = uris;
    this.#since = now;
  }

  get state(): PairStateName {
    return stateOf(this.#active);
  }

  get activeRole(): Role | null {
    return this.#active;
  }

  get lastActiveRole(): Role {
    return this.#lastActive;
  }

  /** When the current state began. */
  get activeSince(): number {
    return this.#since;
  }

  /** Number of state changes since start (entering and leaving out-of-service included). */
  get switchoverCount(): number {
    return this.#count;
  }

  /** State changes for this reason since start. */
  countOf(reason: SwitchReason): number {
    return this.#byReason.get(reason) ?? 0;
  }

  /** The last `HISTORY_LIMIT` state changes, oldest first. */
  get history(): readonly Switchover[] {
    return this.#recent;
  }

  /** The members' URIs as written in a reloaded config (same servers, new spelling). */
  setUris(uris: Record<Role, string>): void {
    this.#uris = uris;
  }

  /** A member was declared down. `other` is the health of the other member. */
  onMemberDown(
    role: Role,
    other: HealthStatus,
    reason: SwitchReason,
    now: number,
  ): Switchover | null {
    if (this.#active !== role) return null;
    return this.#move(other === "up" ? otherRole(role) : null, reason, now);
  }

  /** A member came up: only matters when no member is active. */
  onMemberUp(role: Role, now: number): Switchover | null {
    if (this.#active !== null) return null;
    return this.#move(role, "recovery", now);
  }

  /** A request other than OPTIONS came from `role`: proof that it is acting as active. */
  onTrafficFrom(role: Role, now: number): Switchover | null {
    if (this.#active === role) return null;
    return this.#move(role, "traffic-from-backup", now);
  }

  /**
   * Operator request (a switchover, or `maintenance` on the active member); the caller
   * has already checked the target's health.
   */
  manual(to: Role, now: number, reason: SwitchReason = "manual"): Switchover | null {
    if (this.#active === to) return null;
    return this.#move(to, reason, now);
  }

  #move(to: Role | null, reason: SwitchReason, now: number): Switchover | null {
    if (to === this.#active) return null;
    const from = this.#active;
    const record: Switchover = {
      at: now,
      from: from === null ? null : this.#uris[from],
      to: to === null ? null : this.#uris[to],
      fromRole: from,
      toRole: to,
      reason,
    };
    this.#active = to;
    if (to !== null) this.#lastActive = to;
    this.#since = now;
    this.#count++;
    this.#byReason.set(reason, this.countOf(reason) + 1);
    this.#recent.push(record);
    if (this.#recent.length > HISTORY_LIMIT) this.#recent.shift();
    return record;
  }
}
