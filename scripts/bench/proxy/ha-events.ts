/**
 * HA events read from a proxy's log as it runs. vipless logs one JSON line per state
 * change (src/service/ha-log.ts: `event` is the type, `at` the moment the HA core
 * decided, as ISO time); Kamailio's dispatcher runs an event_route on a destination's
 * state change, which the bench's config logs as "bench-ha dst-down $du $ru"
 * (scripts/bench/kamailio.cfg.ts). Counting these, not SIPp's response times, says
 * whether a proxy judged a member dead and when: response times misread under load.
 */
import type { Child } from "./children.ts";

/** The events counted: the four HA state changes, overload shedding, flapping. */
export const HA_TYPES = ["switchover", "member-down", "member-up", "pair-out-of-service"];

export interface LoggedEvent {
  type: string;
  /** Wall-clock ms: vipless's `at` field; for Kamailio, when the line arrived. */
  at: number;
  /** The member (vipless) or dispatcher destination (Kamailio) it concerns. */
  member?: string;
  reason?: string;
}

/** A parser from one output line to an event, or undefined for other lines. */
export type EventParser = (line: string, now: number) => LoggedEvent | undefined;

/** At most this many events are kept: a flapping proxy must not fill the bench's memory. */
const MAX_EVENTS = 100_000;

export class EventLog {
  readonly events: LoggedEvent[] = [];
  dropped = 0;

  constructor(child: Child, parse: EventParser) {
    child.onLine((line) => {
      const e = parse(line, Date.now());
      if (!e) return;
      if (this.events.length < MAX_EVENTS) this.events.push(e);
      else this.dropped++;
    });
  }

  /** Events at or after `from` (wall ms) and, if given, before `to`. */
  between(from: number, to = Infinity): LoggedEvent[] {
    return this.events.filter((e) => e.at >= from && e.at < to);
  }
}

const WATCHED = new Set([...HA_TYPES, "overload"]);

export const viplessEvent: EventParser = (line, now) => {
  if (!line.startsWith("{") || !line.includes('"event"')) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  const type = typeof o.event === "string" ? o.event : "";
  // Flapping is being added by others; whatever its event is called, it says "flap".
  if (!WATCHED.has(type) && !type.includes("flap")) return undefined;
  const at = typeof o.at === "string" ? Date.parse(o.at) : NaN;
  return {
    type,
    at: Number.isFinite(at) ? at : now,
    member: typeof o.member === "string" ? o.member : typeof o.to === "string" ? o.to : undefined,
    reason: typeof o.reason === "string"
      ? o.reason
      : typeof o.cause === "string"
      ? o.cause
      : undefined,
  };
};

export const kamailioEvent: EventParser = (line, now) => {
  const m = /bench-ha (dst-down|dst-up) (\S+) (\S+)/.exec(line);
  if (!m) return undefined;
  // "$du $ru": the destination URI when set ("<null>" otherwise), else the request URI.
  const member = m[2].startsWith("sip:") ? m[2] : m[3];
  return { type: m[1] === "dst-down" ? "member-down" : "member-up", at: now, member };
};

/** "switchover 1, member-down 1" (in HA_TYPES order, then the rest), or "none". */
export function eventCounts(events: LoggedEvent[]): string {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const order = [...HA_TYPES, ...[...counts.keys()].filter((k) => !HA_TYPES.includes(k))];
  const parts = order.filter((k) => counts.has(k)).map((k) => `${k} ${counts.get(k)}`);
  return parts.length ? parts.join(", ") : "none";
}
