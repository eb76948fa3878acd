/**
 * Where each pair member named by DNS name is now: its RFC 3263 targets (locate.ts),
 * looked up again when their TTL runs out, and the one that gets its traffic. Requests
 * and probes for the member go to that one target, so probes judge the server the
 * calls reach; a target that times out, fails at the transport or answers 503 is
 * passed over for PASS_OVER_MS (or until the next lookup brings a new list), and the
 * member moves to its next target as a whole. Members given by IP address are not
 * kept here: they are where they say.
 *
 * Time comes in as arguments (monotonic ms); lookups are the locator's, and their
 * results arrive through `onChange`, so the caller decides what to re-index.
 */
import { addressKey, formatHostPort, isIpLiteral } from "../net/address.ts";
import type { Transport } from "../net/transport.ts";
import type { Locator, Target } from "./locate.ts";

/** How long a failed target is passed over when the list has others. */
export const PASS_OVER_MS = 32_000;
/** How soon a name that resolved to nothing, or whose lookup failed, is asked again. */
export const RETRY_UNRESOLVED_MS = 5_000;

export interface NamedMemberSpec {
  pair: string;
  role: "primary" | "backup";
  host: string;
  port: number;
  transport: Transport;
  scheme: "sip" | "sips";
  portGiven: boolean;
  transportGiven: boolean;
}

export interface MemberDnsStatus {
  pair: string;
  role: "primary" | "backup";
  name: string;
  /** "udp:10.0.0.11:5060", in the order they are tried. */
  targets: string[];
  /** The target that gets the member's traffic now, or null. */
  current: string | null;
  /** Why the name resolves to nothing (set while it does). */
  error: string | null;
  /** Null until the first lookup has answered. */
  resolved: boolean | null;
}

export interface MemberTargetsHooks {
  /** The member's current target changed (null: it resolves to nothing). */
  onChange(member: NamedMemberSpec, target: Target | null): void;
}

interface Entry {
  spec: NamedMemberSpec;
  targets: Target[];
  /** Monotonic ms the list holds until; 0: never looked up. */
  until: number;
  passedOver: Map<string, number>;
  current: Target | null;
  error: string | null;
  looking: boolean;
  resolved: boolean | null;
  /** `resolved` as last told to onChange. */
  reported: boolean | null;
}

const keyOf = (host: string, port: number) => addressKey(host, port);
const targetText = (t: Target) => `${t.transport}:${formatHostPort(t.address, t.port)}`;

export class MemberTargets {
  readonly #locator: Locator;
  readonly #hooks: MemberTargetsHooks;
  #entries = new Map<string, Entry>();

  constructor(locator: Locator, hooks: MemberTargetsHooks) {
    this.#locator = locator;
    this.#hooks = hooks;
  }

  /** The members of a (re)configuration; those named by IP address are left out. */
  configure(members: readonly NamedMemberSpec[]): void {
    const next = new Map<string, Entry>();
    for (const spec of members) {
      if (isIpLiteral(spec.host)) continue;
      const key = keyOf(spec.host, spec.port);
      const old = this.#entries.get(key);
      const same = old && old.spec.portGiven === spec.portGiven &&
        old.spec.transportGiven === spec.transportGiven && old.spec.transport === spec.transport;
      next.set(
        key,
        same ? { ...old, spec } : {
          spec,
          targets: [],
          until: 0,
          passedOver: new Map(),
          current: null,
          error: null,
          looking: false,
          resolved: null,
          reported: null,
        },
      );
    }
    this.#entries = next;
  }

  /** Starts the lookups that are due (never looked up, or past their TTL). */
  refresh(now: number): void {
    for (const e of this.#entries.values()) {
      if (!e.looking && e.until <= now) this.#lookUp(e, now);
    }
  }

  /** True when `host:port` is a member kept here (a name). */
  has(host: string, port: number): boolean {
    return this.#entries.has(keyOf(host, port));
  }

  /**
   * The target a member's traffic goes to: a Target, null when the name resolves to
   * nothing (yet), undefined when the member is not one named by DNS name.
   */
  target(host: string, port: number): Target | null | undefined {
    const e = this.#entries.get(keyOf(host, port));
    return e ? e.current : undefined;
  }

  /**
   * Whether the member's name resolved: null before its first lookup answered,
   * undefined when the member is not one named by DNS name.
   */
  resolved(host: string, port: number): boolean | null | undefined {
    const e = this.#entries.get(keyOf(host, port));
    return e ? e.resolved : undefined;
  }

  /** The named member whose current target is this address and port, if any. */
  memberAt(address: string, port: number): NamedMemberSpec | null {
    const key = keyOf(address, port);
    for (const e of this.#entries.values()) {
      if (e.current && keyOf(e.current.address, e.current.port) === key) return e.spec;
    }
    return null;
  }

  /**
   * A target of the member timed out, failed at the transport or answered 503 (`at`, by
   * default its current one): it is passed over, and when it is the current one the
   * traffic moves to the next target not passed over (if there is one). A late report
   * about a target the member already left moves nothing: it would send the traffic
   * back from the live target to the dead one.
   */
  failed(host: string, port: number, now: number, at?: { address: string; port: number }): void {
    const e = this.#entries.get(keyOf(host, port));
    if (!e || !e.current || e.targets.length < 2) return;
    const failed = keyOf((at ?? e.current).address, (at ?? e.current).port);
    const t = e.targets.find((x) => keyOf(x.address, x.port) === failed);
    if (t) e.passedOver.set(targetText(t), now + PASS_OVER_MS);
    if (failed === keyOf(e.current.address, e.current.port)) this.#choose(e, now);
  }

  /** Members whose name resolves to nothing now. */
  unresolved(): NamedMemberSpec[] {
    return [...this.#entries.values()].filter((e) => e.resolved === false).map((e) => e.spec);
  }

  status(): MemberDnsStatus[] {
    return [...this.#entries.values()].map((e) => ({
      pair: e.spec.pair,
      role: e.spec.role,
      name: e.spec.host,
      targets: e.targets.map(targetText),
      current: e.current && targetText(e.current),
      error: e.error,
      resolved: e.resolved,
    }));
  }

  /** The earliest time a lookup is due (for the caller's timer). */
  nextDue(): number {
    let next = Infinity;
    for (const e of this.#entries.values()) if (!e.looking) next = Math.min(next, e.until);
    return next;
  }

  #lookUp(e: Entry, now: number): void {
    e.looking = true;
    const s = e.spec;
    this.#locator.locate({
      host: s.host,
      port: s.portGiven ? s.port : null,
      transport: s.transportGiven ? s.transport : null,
      secure: s.scheme === "sips",
    }).then((found) => {
      e.looking = false;
      const targets = found.targets;
      e.targets = targets;
      e.error = targets.length === 0 ? `${s.host} resolves to no target` : null;
      e.resolved = targets.length > 0;
      const ttlMs = Number.isFinite(found.ttl) ? found.ttl * 1000 : 60_000;
      e.until = now + (targets.length === 0 ? Math.min(ttlMs, RETRY_UNRESOLVED_MS) : ttlMs);
      this.#choose(e, now);
    }, (err: Error) => {
      // A failed lookup (no server answered) keeps the last list, as a resolver's
      // stale answer would, and asks again soon.
      e.looking = false;
      e.until = now + RETRY_UNRESOLVED_MS;
      if (e.targets.length === 0) {
        e.error = err.message;
        e.resolved = false;
        this.#choose(e, now);
      }
    });
  }

  #choose(e: Entry, now: number): void {
    for (const [k, until] of e.passedOver) if (until <= now) e.passedOver.delete(k);
    const next = e.targets.find((t) => !e.passedOver.has(targetText(t))) ?? e.targets[0] ?? null;
    const was = e.current && targetText(e.current);
    e.current = next;
    if (was !== (next && targetText(next)) || e.reported !== e.resolved) {
      e.reported = e.resolved;
      this.#hooks.onChange(e.spec, next);
    }
  }
}
