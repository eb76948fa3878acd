// The Via branch of every probe in flight. An answer comes back through the proxy,
// which knows it only by its branch; a refused TCP connection is reported by its
// destination. So the branch is how an answer finds its probe, and the destination is
// how a failed connection does.
//
// The branch has a random part (Web Crypto): whoever cannot see our probes cannot guess
// one and answer for a dead member to keep it "up".

import { addressKey } from "./address.ts";
import type { Transport } from "../net/transport.ts";
import type { HaMemberSpec } from "./types.ts";

/** Where a probe goes: over the member's own transport. */
export interface ProbeDest {
  transport: Transport;
  host: string;
  port: number;
}

interface Branch {
  key: string;
  id: number;
  dest: string;
  deadline: number;
  /** Set once the probe timed out: until then a late answer is known, and ignored. */
  lateUntil: number | null;
}

/**
 * An answer to a timed-out probe is recognised this long after its deadline and
 * dropped quietly; only an answer after that counts as a stale probe response.
 */
const LATE_ANSWER_MS = 1000;
const RANDOM_BYTES = 8;

export class ProbeBranches {
  readonly #prefix: string;
  readonly #byBranch = new Map<string, Branch>();
  /** Member key → branch of its probe in flight (at most one per member). */
  readonly #byKey = new Map<string, string>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** A fresh branch for probe `id` of member `key`. */
  open(key: string, id: number, dest: ProbeDest, deadline: number): string {
    let branch: string;
    do branch = this.#prefix + randomHex(RANDOM_BYTES); while (this.#byBranch.has(branch));
    this.#byBranch.set(branch, { key, id, dest: destKey(dest), deadline, lateUntil: null });
    this.#byKey.set(key, branch);
    return branch;
  }

  /** The probe a branch belongs to (its id and member key); `late` when it timed out. */
  find(branch: string): { id: number; key: string; late: boolean } | null {
    const b = this.#byBranch.get(branch);
    return b ? { id: b.id, key: b.key, late: b.lateUntil !== null } : null;
  }

  /** Ids of the probes in flight to `dest`. */
  idsTo(dest: ProbeDest): number[] {
    const key = destKey(dest);
    return [...this.#byBranch.values()]
      .filter((b) => b.lateUntil === null && b.dest === key)
      .map((b) => b.id);
  }

  /** Member `key`'s probe ended; `unanswered` keeps its branch known for a late answer. */
  close(key: string, unanswered: boolean): void {
    const branch = this.#byKey.get(key);
    if (branch === undefined) return;
    this.#byKey.delete(key);
    const b = this.#byBranch.get(branch)!;
    if (unanswered) b.lateUntil = b.deadline + LATE_ANSWER_MS;
    else this.#byBranch.delete(branch);
  }

  /** Forgets the branches of timed-out probes whose late answer would now be stale. */
  purge(now: number): void {
    for (const [branch, b] of this.#byBranch) {
      if (b.lateUntil !== null && b.lateUntil <= now) this.#byBranch.delete(branch);
    }
  }
}

function destKey(dest: ProbeDest): string {
  return `${dest.transport}|${addressKey(dest.host, dest.port)}`;
}

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of buf) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Probes go where requests for the member go, over the same transport. */
export function probeDest(m: HaMemberSpec): ProbeDest {
  return { transport: m.transport, host: m.host, port: m.port };
}
