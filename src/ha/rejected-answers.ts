// Probe answers dropped because they came from another address than the probed
// member's: forged (someone who saw the probe answers for a dead member to keep it
// "up"), or a member answering from a socket other than the one probed. Counted per
// probed member for /metrics; kept across reloads, as Prometheus counters only grow.

import type { Role } from "./types.ts";

export interface RejectedAnswerCount {
  pair: string;
  role: Role;
  /** The probed member's URI. */
  member: string;
  count: number;
}

export class RejectedAnswers {
  readonly #counts = new Map<string, RejectedAnswerCount>();

  count(pair: string, role: Role, member: string): void {
    const key = `${pair}\u0000${role}\u0000${member}`;
    const counter = this.#counts.get(key) ?? { pair, role, member, count: 0 };
    counter.count++;
    this.#counts.set(key, counter);
  }

  list(): RejectedAnswerCount[] {
    return [...this.#counts.values()].map((c) => ({ ...c }));
  }
}
