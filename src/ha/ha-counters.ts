// The counters /metrics reads from the HA core: switchovers by pair and reason, and per
// member the probe outcomes and round-trip times. Read at scrape time; the HA core does
// not know the exposition format.

import type { HistogramSnapshot } from "./histogram.ts";
import { RttHistogram } from "./recent-rtt.ts";
import type { ProbeMissCause, Role, SwitchReason } from "./types.ts";

export type ProbeResultLabel = "ok" | ProbeMissCause;

/** One member's probe counters; they live as long as the member stays configured. */
export class ProbeStats {
  readonly rtt = new RttHistogram();
  /** Times the member was reported flapping. */
  flaps = 0;
  readonly #results = new Map<ProbeResultLabel, number>();

  count(result: ProbeResultLabel): void {
    this.#results.set(result, (this.#results.get(result) ?? 0) + 1);
  }

  results(): ReadonlyMap<ProbeResultLabel, number> {
    return this.#results;
  }
}

/** Switchovers by pair name and reason. Kept across reloads: Prometheus counters only grow. */
export class SwitchoverCounter {
  readonly #counts = new Map<string, { pair: string; reason: SwitchReason; count: number }>();

  count(pair: string, reason: SwitchReason): void {
    const key = `${pair}\u0000${reason}`;
    const counter = this.#counts.get(key) ?? { pair, reason, count: 0 };
    counter.count++;
    this.#counts.set(key, counter);
  }

  list(): Array<{ pair: string; reason: SwitchReason; count: number }> {
    return [...this.#counts.values()].map((c) => ({ ...c }));
  }
}

/** A member with the labels its counters are reported under. */
export interface CountedMember {
  pair: string;
  role: Role;
  member: string;
  stats: ProbeStats;
}

export interface ProbeRtt {
  pair: string;
  role: Role;
  member: string;
  histogram: HistogramSnapshot;
  /** The last probe round trips in milliseconds, oldest first. */
  recentMs: number[];
}

export interface ProbeResultCount {
  pair: string;
  role: Role;
  member: string;
  result: ProbeResultLabel;
  count: number;
}

/** Probe round-trip time histograms (seconds), one per member. */
export function probeRttOf(members: Iterable<CountedMember>): ProbeRtt[] {
  return [...members].map(({ pair, role, member, stats }) => ({
    pair,
    role,
    member,
    histogram: stats.rtt.snapshot(),
    recentMs: stats.rtt.recentMs(),
  }));
}

/** Probe results by member and outcome ("ok", "timeout", "transport-error", "bad-status"). */
export function probeResultsOf(members: Iterable<CountedMember>): ProbeResultCount[] {
  return [...members].flatMap(({ pair, role, member, stats }) =>
    [...stats.results()].map(([result, count]) => ({ pair, role, member, result, count }))
  );
}

export interface FlapCount {
  pair: string;
  role: Role;
  member: string;
  count: number;
}

/** Times each member was reported flapping (state changes > 4 in a minute). */
export function flapsOf(members: Iterable<CountedMember>): FlapCount[] {
  return [...members].map(({ pair, role, member, stats }) => ({
    pair,
    role,
    member,
    count: stats.flaps,
  }));
}
