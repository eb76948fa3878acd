// Probe answers dropped because they came from another address than the probed
// member's: forged (someone who saw the probe answers for a dead member to keep it
// "up"), or a member answering from a socket other than the one probed. Counted per
// probed member (by server identity) for /metrics: a member that stays configured keeps
// its count across reloads (Prometheus counters only grow) and is reported under its
// pair's current name, from 0 before the first one.

import type { Role } from "./types.ts";

export interface RejectedAnswerCount {
  pair: string;
  role: Role;
  /** The probed member's URI. */
  member: string;
  count: number;
}

/** A configured member: its identity and the labels it is reported under. */
interface Labelled {
  key: string;
  pair: { name: string };
  role: Role;
  spec: { uri: string };
}

export class RejectedAnswers {
  readonly #counts = new Map<string, number>();

  count(memberKey: string): void {
    this.#counts.set(memberKey, (this.#counts.get(memberKey) ?? 0) + 1);
  }

  /** The counts of the members configured now, under their current labels. */
  list(members: Iterable<Labelled>): RejectedAnswerCount[] {
    return [...members].map((m) => ({
      pair: m.pair.name,
      role: m.role,
      member: m.spec.uri,
      count: this.#counts.get(m.key) ?? 0,
    }));
  }
}
