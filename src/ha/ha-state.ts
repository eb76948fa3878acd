// The registry over all pairs: member health, the prober, one state machine per pair,
// the event sink and the counters. The glue feeds it (probe answers, requests seen,
// forward failures, operator actions, each with `now`) and reads from it (next hops,
// snapshot, metrics). `now` is wall-clock milliseconds since the epoch.
//
// Forward failures: the proxy already retries the failed call on the other member, so
// the call itself keeps flowing without a switch. A single failed transaction is weak
// evidence (a slow INVITE, one 503 under load), and switching on it would flap the
// whole pair. So a forward failure marks the member suspect and probes it at once; if
// that probe misses too, the member is down immediately (no need to wait for
// `probe.failures` misses) and the pair switches with reason `forward-failure`. If the
// probe answers, the suspicion is cleared and nothing changes. The cost is at most one
// probe timeout during which calls still go to the suspect first and are retried.

import { addressKey, memberKey, normaliseHost } from "./address.ts";
import { type CodeSet, parseCodeSet } from "./code-set.ts";
import { Histogram, type HistogramSnapshot } from "./histogram.ts";
import { MemberHealth } from "./member-health.ts";
import { PairMachine } from "./pair-machine.ts";
import { type ProbeOutcome, Prober, type ProbeTiming } from "./prober.ts";
import { type HaSnapshot, pairSnapshot, toIso } from "./snapshot.ts";
import {
  type HaConfig,
  type HaEvent,
  type HaEventListener,
  type HaMemberSpec,
  type HaPairSpec,
  type HaProbeSpec,
  otherRole,
  type PairStateName,
  type ProbeMissCause,
  type Role,
  type Switchover,
  type SwitchReason,
} from "./types.ts";

export interface HaStateOptions {
  /** Wall-clock ms at construction: the first probes are spread from here. */
  now: number;
  /** Source of jitter in [0, 1); inject a seeded one in tests. */
  random?: () => number;
  /** Registered before anything can happen, so no event is missed. */
  onEvent?: HaEventListener;
}

/** Which pair member a host and port belong to. */
export interface MemberLocation {
  pair: string;
  role: Role;
  member: HaMemberSpec;
}

export interface RequestOrigin extends MemberLocation {
  /** True when this request made its sender the active member. */
  switched: boolean;
}

export type SwitchoverError =
  | { code: "unknown-pair"; pair: string; message: string }
  | { code: "other-down"; pair: string; member: string; message: string };

export type SwitchoverResult =
  | {
    ok: true;
    pair: string;
    from: string | null;
    to: string;
    /** False when the requested member was already active. */
    changed: boolean;
  }
  | { ok: false; error: SwitchoverError };

export interface SwitchoverOptions {
  /** Switch even when the target is known down. */
  force?: boolean;
  /** Target member; by default the one that is not active. */
  to?: Role;
}

export type ProbeResultLabel = "ok" | ProbeMissCause;

interface MemberEntry {
  key: string;
  pair: PairEntry;
  role: Role;
  spec: HaMemberSpec;
  health: MemberHealth;
  rtt: Histogram;
  results: Map<ProbeResultLabel, number>;
}

interface PairEntry {
  name: string;
  machine: PairMachine;
  members: Record<Role, MemberEntry>;
}

const ROLES: readonly Role[] = ["primary", "backup"];

function timingOf(probe: HaProbeSpec): ProbeTiming {
  return { interval: probe.interval, forceInterval: probe.force_interval, timeout: probe.timeout };
}

function checkProbe(probe: HaProbeSpec): CodeSet {
  for (const k of ["interval", "force_interval", "timeout"] as const) {
    if (!(probe[k] > 0)) throw new Error(`probe.${k} must be a positive duration`);
  }
  if (!Number.isInteger(probe.failures) || probe.failures < 1) {
    throw new Error("probe.failures must be a whole number of at least 1");
  }
  return parseCodeSet(probe.up_codes);
}

export class HaState {
  readonly prober: Prober;
  private readonly listeners = new Set<HaEventListener>();
  private pairs = new Map<string, PairEntry>();
  private members = new Map<string, MemberEntry>();
  private byAddress = new Map<string, MemberEntry>();
  private byHost = new Map<string, MemberEntry[]>();
  private probe: HaProbeSpec;
  private upCodes: CodeSet;
  /** Monotonic counters survive reloads, as Prometheus expects. */
  private readonly switchoverCounter = new Map<
    string,
    { pair: string; reason: SwitchReason; count: number }
  >();

  constructor(config: HaConfig, options: HaStateOptions) {
    this.upCodes = checkProbe(config.probe);
    this.probe = config.probe;
    if (options.onEvent) this.listeners.add(options.onEvent);
    this.prober = new Prober(
      timingOf(config.probe),
      {
        isFast: (key) => this.members.get(key)?.pair.machine.activeRole === null,
        onResult: (key, outcome, now) => this.onProbeResult(key, outcome, now),
      },
      options.random ?? Math.random,
    );
    this.install(config.pairs, new Map(), options.now);
  }

  /** Registers an event listener; returns a function that removes it. */
  onEvent(listener: HaEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pairNames(): string[] {
    return [...this.pairs.keys()];
  }

  hasPair(pair: string): boolean {
    return this.pairs.has(pair);
  }

  /** The member listening at exactly this host and port (port defaults to 5060). */
  memberAt(host: string, port?: number | null): MemberLocation | null {
    const entry = this.byAddress.get(addressKey(host, port));
    return entry ? locationOf(entry) : null;
  }

  /**
   * The member a request came from. Exact host and port first; otherwise the only
   * member on that host, because requests over TCP/TLS come from ephemeral ports.
   */
  memberFrom(host: string, port?: number | null): MemberLocation | null {
    const exact = this.memberAt(host, port);
    if (exact) return exact;
    const onHost = this.byHost.get(normaliseHost(host));
    return onHost && onHost.length === 1 ? locationOf(onHost[0]) : null;
  }

  pairState(pair: string): PairStateName | null {
    return this.pairs.get(pair)?.machine.state ?? null;
  }

  isInService(pair: string): boolean {
    return this.pairs.get(pair)?.machine.activeRole != null;
  }

  activeMember(pair: string): HaMemberSpec | null {
    const entry = this.pairs.get(pair);
    const role = entry?.machine.activeRole;
    return entry && role ? entry.members[role].spec : null;
  }

  /** Where to send a request for the pair: active first, then the other unless it is down. */
  nextHops(pair: string): HaMemberSpec[] {
    const entry = this.pairs.get(pair);
    const role = entry?.machine.activeRole;
    if (!entry || !role) return [];
    const other = entry.members[otherRole(role)];
    const hops = [entry.members[role].spec];
    if (other.health.status !== "down") hops.push(other.spec);
    return hops;
  }

  /**
   * Every request received from a pair member goes through here. A request other than
   * OPTIONS from the member that is not active proves it has taken over: it becomes
   * active at once (and counts as alive). Returns null when the sender is no member.
   */
  onRequestFrom(
    host: string,
    port: number | null | undefined,
    method: string,
    now: number,
  ): RequestOrigin | null {
    const location = this.memberFrom(host, port);
    if (!location) return null;
    if (method.toUpperCase() === "OPTIONS") return { ...location, switched: false };
    const pair = this.pairs.get(location.pair)!;
    if (pair.machine.activeRole === location.role) return { ...location, switched: false };
    const member = pair.members[location.role];
    if (member.health.markAlive() === "up") this.emitMemberUp(member, now);
    this.apply(pair, pair.machine.onTrafficFrom(location.role, now));
    return { ...location, switched: true };
  }

  /**
   * A request forwarded to this member timed out, failed at the transport or got 503.
   * Marks it suspect and asks for a probe at once (see the file comment).
   * Returns false when the address is no member.
   */
  onForwardFailure(member: { host: string; port: number }, now: number): boolean {
    const entry = this.byAddress.get(addressKey(member.host, member.port));
    if (!entry) return false;
    if (entry.health.status === "down") return true;
    entry.health.markSuspect();
    this.prober.probeNow(entry.key, now);
    return true;
  }

  /** Operator switchover to the member that is not active (or `options.to`). */
  switchover(pair: string, options: SwitchoverOptions, now: number): SwitchoverResult {
    const entry = this.pairs.get(pair);
    if (!entry) {
      return {
        ok: false,
        error: { code: "unknown-pair", pair, message: `no pair named "${pair}"` },
      };
    }
    const from = entry.machine.activeRole;
    const to = options.to ?? otherRole(from ?? entry.machine.lastActiveRole);
    const target = entry.members[to];
    const fromUri = from === null ? null : entry.members[from].spec.uri;
    if (from === to) return { ok: true, pair, from: fromUri, to: target.spec.uri, changed: false };
    if (target.health.status === "down") {
      if (!options.force) {
        return {
          ok: false,
          error: {
            code: "other-down",
            pair,
            member: target.spec.uri,
            message:
              `${to} ${target.spec.uri} of pair "${pair}" is down; use force to switch anyway`,
          },
        };
      }
      // The operator overrides our verdict: start counting misses afresh, so the
      // target stays active until `probe.failures` new misses say otherwise.
      target.health.resetToUnknown();
    }
    this.apply(entry, entry.machine.manual(to, now));
    return { ok: true, pair, from: fromUri, to: target.spec.uri, changed: true };
  }

  snapshot(now: number): HaSnapshot {
    const pairs = [...this.pairs.values()].map((p) =>
      pairSnapshot(p.name, p.machine, ROLES.map((r) => p.members[r]))
    );
    return {
      at: toIso(now),
      switchoverCount: pairs.reduce((n, p) => n + p.switchoverCount, 0),
      pairs,
    };
  }

  /** Switchovers by pair and reason, monotonic across reloads. */
  switchoverCounts(): Array<{ pair: string; reason: SwitchReason; count: number }> {
    return [...this.switchoverCounter.values()].map((c) => ({ ...c }));
  }

  /** Probe round-trip time histograms (seconds), one per member. */
  probeRtt(): Array<{ pair: string; role: Role; member: string; histogram: HistogramSnapshot }> {
    return [...this.members.values()].map((m) => ({
      pair: m.pair.name,
      role: m.role,
      member: m.spec.uri,
      histogram: m.rtt.snapshot(),
    }));
  }

  /** Probe results by member and outcome ("ok", "timeout", "transport-error", "bad-status"). */
  probeResults(): Array<
    { pair: string; role: Role; member: string; result: ProbeResultLabel; count: number }
  > {
    return [...this.members.values()].flatMap((m) =>
      [...m.results].map(([result, count]) => ({
        pair: m.pair.name,
        role: m.role,
        member: m.spec.uri,
        result,
        count,
      }))
    );
  }

  /**
   * Applies a reloaded config. Pairs whose primary and backup are the same servers as
   * before keep their health, active member, history and probe schedule (even when
   * renamed); all others start afresh. Throws, changing nothing, on bad probe settings.
   */
  reconfigure(config: HaConfig, now: number): void {
    const upCodes = checkProbe(config.probe);
    const previous = new Map<string, PairEntry>();
    for (const p of this.pairs.values()) {
      previous.set(pairIdentity(p.members.primary.spec, p.members.backup.spec), p);
    }
    this.upCodes = upCodes;
    this.probe = config.probe;
    this.prober.setTiming(timingOf(config.probe));
    this.install(config.pairs, previous, now);
  }

  private install(specs: readonly HaPairSpec[], previous: Map<string, PairEntry>, now: number) {
    const pairs = new Map<string, PairEntry>();
    const members = new Map<string, MemberEntry>();
    for (const spec of specs) {
      const kept = previous.get(pairIdentity(spec.primary, spec.backup));
      previous.delete(pairIdentity(spec.primary, spec.backup));
      const entry: PairEntry = kept ?? this.freshPair(spec, now);
      entry.name = spec.name;
      entry.machine.setUris({ primary: spec.primary.uri, backup: spec.backup.uri });
      for (const role of ROLES) {
        const m = entry.members[role];
        m.spec = spec[role];
        members.set(m.key, m);
      }
      pairs.set(spec.name, entry);
    }
    for (const key of this.prober.keys()) if (!members.has(key)) this.prober.remove(key);
    for (const m of members.values()) {
      this.prober.add(m.key, { pair: m.pair.name, role: m.role, member: m.spec }, now);
    }
    this.pairs = pairs;
    this.members = members;
    this.byAddress = new Map();
    this.byHost = new Map();
    for (const m of members.values()) {
      const address = addressKey(m.spec.host, m.spec.port);
      if (!this.byAddress.has(address)) this.byAddress.set(address, m);
      const host = normaliseHost(m.spec.host);
      this.byHost.set(host, [...(this.byHost.get(host) ?? []), m]);
    }
  }

  private freshPair(spec: HaPairSpec, now: number): PairEntry {
    const pair = {
      name: spec.name,
      machine: new PairMachine({ primary: spec.primary.uri, backup: spec.backup.uri }, now),
    } as PairEntry;
    const member = (role: Role): MemberEntry => ({
      key: memberKey(spec[role]),
      pair,
      role,
      spec: spec[role],
      health: new MemberHealth(),
      rtt: new Histogram(),
      results: new Map(),
    });
    pair.members = { primary: member("primary"), backup: member("backup") };
    return pair;
  }

  private onProbeResult(key: string, outcome: ProbeOutcome, now: number): void {
    const m = this.members.get(key);
    if (!m) return;
    if (outcome.kind === "answer") m.rtt.observe(outcome.rttMs / 1000);
    if (outcome.kind === "answer" && this.upCodes.has(outcome.statusCode)) {
      this.countResult(m, "ok");
      if (m.health.recordAnswer(now, outcome.rttMs, outcome.statusCode) === "up") {
        this.emitMemberUp(m, now);
        this.apply(m.pair, m.pair.machine.onMemberUp(m.role, now));
      }
      return;
    }
    const cause: ProbeMissCause = outcome.kind === "answer" ? "bad-status" : outcome.cause;
    this.countResult(m, cause);
    const answer = outcome.kind === "answer"
      ? { statusCode: outcome.statusCode, rttMs: outcome.rttMs }
      : undefined;
    if (m.health.recordMiss(now, cause, this.probe.failures, answer) !== "down") return;
    this.emit({
      type: "member-down",
      pair: m.pair.name,
      member: m.spec.uri,
      role: m.role,
      cause,
      at: now,
    });
    const reason: SwitchReason = m.health.downWhileSuspect ? "forward-failure" : "probe-timeout";
    const other = m.pair.members[otherRole(m.role)].health.status;
    this.apply(m.pair, m.pair.machine.onMemberDown(m.role, other, reason, now));
  }

  private apply(pair: PairEntry, change: Switchover | null): void {
    if (!change) return;
    const counterKey = `${pair.name}\u0000${change.reason}`;
    const counter = this.switchoverCounter.get(counterKey) ??
      { pair: pair.name, reason: change.reason, count: 0 };
    counter.count++;
    this.switchoverCounter.set(counterKey, counter);
    if (change.to === null) {
      for (const role of ROLES) this.prober.expedite(pair.members[role].key, change.at);
      this.emit({
        type: "pair-out-of-service",
        pair: pair.name,
        from: change.from,
        reason: change.reason,
        at: change.at,
      });
    } else {
      this.emit({
        type: "switchover",
        pair: pair.name,
        from: change.from,
        to: change.to,
        reason: change.reason,
        at: change.at,
      });
    }
  }

  private emitMemberUp(m: MemberEntry, now: number): void {
    this.emit({ type: "member-up", pair: m.pair.name, member: m.spec.uri, role: m.role, at: now });
  }

  private countResult(m: MemberEntry, result: ProbeResultLabel): void {
    m.results.set(result, (m.results.get(result) ?? 0) + 1);
  }

  private emit(event: HaEvent): void {
    for (const listener of this.listeners) {
      // A failing log sink must not stop failover or the other listeners.
      try {
        listener(event);
      } catch {
        // ignored on purpose
      }
    }
  }
}

function locationOf(m: MemberEntry): MemberLocation {
  return { pair: m.pair.name, role: m.role, member: m.spec };
}

function pairIdentity(primary: HaMemberSpec, backup: HaMemberSpec): string {
  return `${memberKey(primary)} ${memberKey(backup)}`;
}
