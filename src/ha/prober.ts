// When to send an OPTIONS probe to each member, and which probes have timed out.
// Pure, and driven by the pair registry only: it asks `due(now)` for the probes to
// send, reports answers with `onAnswer`/`onTransportError`, and calls `due` again at
// `nextDeadline()`.
//
// Each member runs on its own schedule, jittered by ±10% so that a pool of instances
// (and the members of many pairs) do not probe in lock-step; the first probe of a new
// member lands anywhere within the first interval. At most one probe per member is in
// flight: a slow answer delays the next probe rather than piling probes up.

import type { HaMemberSpec, ProbeMissCause, Role } from "./types.ts";

export interface ProbeTarget {
  pair: string;
  role: Role;
  member: HaMemberSpec;
}

export interface ProbeRequest extends ProbeTarget {
  /** Echo this in `onAnswer`/`onTransportError`. */
  id: number;
  /** Stable identity of the member (see `memberKey`). */
  key: string;
  /** Unanswered at this time, the probe counts as a miss (in `due`). */
  deadline: number;
}

export interface ProbeTiming {
  interval: number;
  forceInterval: number;
  timeout: number;
}

export type ProbeOutcome =
  | { kind: "answer"; statusCode: number; rttMs: number }
  | { kind: "miss"; cause: Exclude<ProbeMissCause, "bad-status"> };

export interface ProberHooks {
  /** True when the member's pair is out of service: probe at `forceInterval`. */
  isFast(key: string): boolean;
  onResult(key: string, outcome: ProbeOutcome, now: number): void;
}

const JITTER = 0.1;

interface Slot {
  target: ProbeTarget;
  nextDueAt: number;
  lastSentAt: number | null;
  inFlight: { id: number; sentAt: number; deadline: number } | null;
}

export class Prober {
  readonly #slots = new Map<string, Slot>();
  readonly #idToKey = new Map<number, string>();
  #nextId = 1;
  #timing: ProbeTiming;
  readonly #hooks: ProberHooks;
  readonly #random: () => number;

  constructor(timing: ProbeTiming, hooks: ProberHooks, random: () => number) {
    this.#timing = timing;
    this.#hooks = hooks;
    this.#random = random;
  }

  setTiming(timing: ProbeTiming): void {
    this.#timing = timing;
  }

  /** Starts probing a member; the first probe is spread over the first interval. */
  add(key: string, target: ProbeTarget, now: number): void {
    const existing = this.#slots.get(key);
    if (existing) {
      existing.target = target;
      return;
    }
    this.#slots.set(key, {
      target,
      nextDueAt: now + Math.floor(this.#random() * this.#timing.interval),
      lastSentAt: null,
      inFlight: null,
    });
  }

  /** Stops probing; a late answer to its in-flight probe is ignored. */
  remove(key: string): void {
    const slot = this.#slots.get(key);
    if (slot?.inFlight) this.#idToKey.delete(slot.inFlight.id);
    this.#slots.delete(key);
  }

  keys(): string[] {
    return [...this.#slots.keys()];
  }

  isInFlight(key: string): boolean {
    return this.#slots.get(key)?.inFlight != null;
  }

  /** When the member's next probe is due (ignoring one in flight). */
  nextDueAt(key: string): number | null {
    return this.#slots.get(key)?.nextDueAt ?? null;
  }

  /** Probe at once (a suspect member); an in-flight probe already serves. */
  probeNow(key: string, now: number): void {
    const slot = this.#slots.get(key);
    if (slot && !slot.inFlight) slot.nextDueAt = Math.min(slot.nextDueAt, now);
  }

  /** The member's pair went out of service: pull its next probe in to the fast cadence. */
  expedite(key: string, now: number): void {
    const slot = this.#slots.get(key);
    if (!slot) return;
    const base = slot.lastSentAt ?? now;
    slot.nextDueAt = Math.min(slot.nextDueAt, base + this.#jittered(this.#timing.forceInterval));
  }

  /** The earliest time at which `due` has something to do. */
  nextDeadline(): number {
    let next = Infinity;
    for (const slot of this.#slots.values()) {
      next = Math.min(next, slot.inFlight ? slot.inFlight.deadline : slot.nextDueAt);
    }
    return next;
  }

  /** Counts timed-out probes as misses, then starts and returns the probes now due. */
  due(now: number): ProbeRequest[] {
    this.#expireTimeouts(now);
    const requests: ProbeRequest[] = [];
    for (const [key, slot] of this.#slots) {
      if (slot.inFlight || slot.nextDueAt > now) continue;
      const id = this.#nextId++;
      const deadline = now + this.#timing.timeout;
      slot.inFlight = { id, sentAt: now, deadline };
      slot.lastSentAt = now;
      const every = this.#hooks.isFast(key) ? this.#timing.forceInterval : this.#timing.interval;
      slot.nextDueAt = now + this.#jittered(every);
      this.#idToKey.set(id, key);
      requests.push({ ...slot.target, id, key, deadline });
    }
    return requests;
  }

  /** A response to probe `id`. Returns false for an unknown or already timed-out id. */
  onAnswer(id: number, statusCode: number, now: number): boolean {
    const settled = this.#settle(id);
    if (!settled) return false;
    const rttMs = Math.max(0, now - settled.sentAt);
    this.#hooks.onResult(settled.key, { kind: "answer", statusCode, rttMs }, now);
    return true;
  }

  /** The probe could not be sent or its connection failed. */
  onTransportError(id: number, now: number): boolean {
    const settled = this.#settle(id);
    if (!settled) return false;
    this.#hooks.onResult(settled.key, { kind: "miss", cause: "transport-error" }, now);
    return true;
  }

  #settle(id: number): { key: string; sentAt: number } | null {
    const key = this.#idToKey.get(id);
    if (key === undefined) return null;
    this.#idToKey.delete(id);
    const slot = this.#slots.get(key);
    if (!slot?.inFlight || slot.inFlight.id !== id) return null;
    const sentAt = slot.inFlight.sentAt;
    slot.inFlight = null;
    return { key, sentAt };
  }

  #expireTimeouts(now: number): void {
    const expired = [...this.#slots.entries()]
      .filter(([, slot]) => slot.inFlight !== null && slot.inFlight.deadline <= now)
      .sort((a, b) => a[1].inFlight!.deadline - b[1].inFlight!.deadline);
    for (const [key, slot] of expired) {
      this.#idToKey.delete(slot.inFlight!.id);
      slot.inFlight = null;
      this.#hooks.onResult(key, { kind: "miss", cause: "timeout" }, now);
    }
  }

  #jittered(ms: number): number {
    return Math.max(1, Math.round(ms * (1 + (this.#random() * 2 - 1) * JITTER)));
  }
}
