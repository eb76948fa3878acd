// Test support for the HA core: a small simulation that plays the glue (fake clock,
// members that answer or stay silent). The pair fixtures and the seeded random live in
// tests/support, shared with the proxy tests; they are re-exported here.

import { PairRegistry } from "../../src/ha/pair-registry.ts";
import type { DueProbe } from "../../src/ha/registry-types.ts";
import type { HaConfig, HaEvent } from "../../src/ha/types.ts";
import { config, T0 } from "../support/ha-fixtures.ts";
import { seededRandom } from "../support/random.ts";

export { config, member, SITE_A, SITE_B, T0 } from "../support/ha-fixtures.ts";
export { seededRandom } from "../support/random.ts";

/** What a member does with a probe sent at `now`. */
export type Reply = { status: number; delay: number } | "silent" | "error";
export type Behaviour = (now: number) => Reply;

export const answers = (status = 200, delay = 20): Behaviour => () => ({ status, delay });
export const silent: Behaviour = () => "silent";

export interface SentProbe {
  at: number;
  uri: string;
  pair: string;
}

/** Plays the glue: sends due probes, delivers replies, advances a fake clock. */
export class Sim {
  now: number;
  readonly ha: PairRegistry;
  readonly events: HaEvent[] = [];
  readonly sent: SentProbe[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private pending: Array<{ at: number; probe: DueProbe; reply: { status: number } | "error" }> = [];

  constructor(cfg: HaConfig = config(), seed = 1, start = T0) {
    this.now = start;
    this.ha = new PairRegistry(cfg, {
      now: start,
      random: seededRandom(seed),
      onEvent: (e) => this.events.push(e),
    });
    for (const pair of cfg.pairs) {
      this.behaviours.set(pair.primary.uri, answers());
      this.behaviours.set(pair.backup.uri, answers());
    }
  }

  set(uri: string, behaviour: Behaviour): void {
    this.behaviours.set(uri, behaviour);
  }

  /** Runs the glue loop up to and including time `until`. */
  runUntil(until: number): void {
    for (let step = 0; step < 100_000; step++) {
      const next = this.nextWake();
      if (next > until) break;
      this.now = Math.max(this.now, next);
      this.deliver();
      for (const request of this.ha.probesDue(this.now).probes) this.send(request);
    }
    this.now = Math.max(this.now, until);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until an event matches (returned) or `limitMs` of simulated time passes. */
  runUntilEvent(match: (e: HaEvent) => boolean, limitMs = 60_000): HaEvent | undefined {
    const seen = this.events.length;
    const end = this.now + limitMs;
    for (let step = 0; step < 100_000 && this.now < end; step++) {
      const found = this.events.slice(seen).find(match);
      if (found) return found;
      this.runUntil(Math.min(end, this.nextWake()));
    }
    return this.events.slice(seen).find(match);
  }

  private nextWake(): number {
    const nextReply = this.pending.reduce((t, p) => Math.min(t, p.at), Infinity);
    return Math.min(this.ha.nextProbeDeadline(), nextReply);
  }

  eventsOf(type: HaEvent["type"]): HaEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  sentTo(uri: string, from = -Infinity, to = Infinity): number[] {
    return this.sent.filter((s) => s.uri === uri && s.at >= from && s.at <= to).map((s) => s.at);
  }

  private deliver(): void {
    const ready = this.pending.filter((p) => p.at <= this.now).sort((a, b) => a.at - b.at);
    this.pending = this.pending.filter((p) => p.at > this.now);
    for (const p of ready) {
      if (p.reply === "error") this.ha.probeTransportError(p.probe.dest, this.now);
      else this.ha.probeAnswer(p.probe.branch, p.reply.status, p.probe.dest, this.now);
    }
  }

  private send(request: DueProbe): void {
    this.sent.push({ at: this.now, uri: request.member.uri, pair: request.pair });
    const reply = (this.behaviours.get(request.member.uri) ?? silent)(this.now);
    if (reply === "silent") return;
    if (reply === "error") this.pending.push({ at: this.now, probe: request, reply: "error" });
    else this.pending.push({ at: this.now + reply.delay, probe: request, reply });
  }
}

/** Differences between consecutive times. */
export function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}
