// The registry of all pairs: for each pair its two members (health, probe counters)
// and the state machine that says who is active; beside them the prober that
// schedules the OPTIONS probes and the branches of the probes in flight. The glue
// feeds it (probes due and answered, requests seen, forward failures, operator
// actions, each with `now`) and reads from it (next hops, snapshot, counters).
//
// `now` is the monotonic clock in milliseconds, the proxy's clock. Wall-clock time only
// matters for what /status shows, so it enters at `snapshot`.
//
// Failover control: only a probe result can mark a member down, so the three probe
// methods return the events they caused and the glue acts on them (a member-down moves
// the INVITEs still ringing on that member). Listeners added with `onEvent` see every
// event as well, for logging; nothing that steers traffic hangs off a listener.
//
// Forward failures: the proxy already retries the failed call on the other member. One
// failed transaction is weak evidence, so it marks the member suspect and probes it at
// once; if that probe misses too and the other member is up, the member is down at once
// and the pair switches (`forward-failure`). Without a live other member, suspicion
// shortens nothing: only `probe.failures` misses against both take a pair out of
// service (member-health.ts), as vipless's own load can fail forwards to both.

import {
  type FlapCount,
  flapsOf,
  type ProbeResultCount,
  probeResultsOf,
  type ProbeRtt,
  probeRttOf,
} from "./ha-counters.ts";
import { hopsOf, type MaintenanceResult, planMaintenance } from "./maintenance.ts";
import { MemberIndex, type SenderIdentity, type TransportSender } from "./member-index.ts";
import { locationOf, type MemberEntry, type PairEntry, ROLES } from "./pair-entry.ts";
import { reloadEntries } from "./reload-entries.ts";
import { planSwitchover } from "./operator-switchover.ts";
import { ProbeBranches, type ProbeDest, probeDest } from "./probe-branches.ts";
import { type ProbeOutcome, Prober } from "./prober.ts";
import { type RejectedAnswerCount, RejectedAnswers } from "./rejected-answers.ts";
import { type ProbeSettings, probeSettings } from "./probe-settings.ts";
import type {
  DueProbe,
  MemberLocation,
  PairRegistryOptions,
  RequestOrigin,
  SwitchoverOptions,
  SwitchoverResult,
} from "./registry-types.ts";
import { type HaSnapshot, pairSnapshot, toIso } from "./snapshot.ts";
import {
  type HaConfig,
  type HaEvent,
  type HaEventListener,
  type HaMemberSpec,
  type HaPairSpec,
  otherRole,
  type PairStateName,
  type ProbeMissCause,
  type Role,
  SWITCH_REASONS,
  type Switchover,
  type SwitchReason,
} from "./types.ts";

/** The proxy's PROBE_BRANCH_PREFIX; the glue passes it, so this is only the fallback. */
const DEFAULT_BRANCH_PREFIX = "z9hG4bKvp";

export class PairRegistry {
  readonly #listeners = new Set<HaEventListener>();
  readonly #prober: Prober;
  readonly #branches: ProbeBranches;
  readonly #rejected = new RejectedAnswers();
  #settings: ProbeSettings;
  #pairs = new Map<string, PairEntry>();
  #members = new Map<string, MemberEntry>();
  #index = new MemberIndex<MemberEntry>([]);
  /** The last known address of each member host named by DNS name (`learnAddress`). */
  #addresses = new Map<string, string>();
  /** The port each such host resolved to, where SRV gave one (RFC 3263). */
  #ports = new Map<string, number>();
  /** While a probe method runs: the events it causes, which it returns. */
  #caused: HaEvent[] | null = null;

  constructor(config: HaConfig, options: PairRegistryOptions) {
    this.#settings = probeSettings(config.probe);
    if (options.onEvent) this.#listeners.add(options.onEvent);
    this.#branches = new ProbeBranches(options.branchPrefix ?? DEFAULT_BRANCH_PREFIX);
    this.#prober = new Prober(
      this.#settings.timing,
      {
        isFast: (key) => this.#members.get(key)?.pair.machine.activeRole === null,
        onResult: (key, outcome, now) => this.#onProbeResult(key, outcome, now),
      },
      options.random ?? Math.random,
    );
    this.#install(config.pairs, options.now);
  }

  /** Registers an event listener; returns a function that removes it. */
  onEvent(listener: HaEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  pairNames(): string[] {
    return [...this.#pairs.keys()];
  }

  hasPair(pair: string): boolean {
    return this.#pairs.has(pair);
  }

  /** The member listening at exactly this host and port (port defaults to 5060). */
  memberAt(host: string, port?: number | null): MemberLocation | null {
    const entry = this.#index.at(host, port);
    return entry ? locationOf(entry) : null;
  }

  /**
   * Who sent a message, by its transport alone (never its Via): a member, a member host
   * naming none (`member: null`), or null for no member. The rules are MemberIndex's.
   */
  identify(sender: TransportSender): SenderIdentity<MemberLocation> | null {
    const id = this.#index.identify(sender);
    return id && { member: id.member && locationOf(id.member) };
  }

  /**
   * The member host `host` (a name, as configured) resolved to `address` (and `port`,
   * where SRV chose one): messages from there are now its member's. The glue resolves;
   * this core does no I/O.
   */
  learnAddress(host: string, address: string, port?: number): void {
    if (this.#addresses.get(host) === address && this.#ports.get(host) === port) return;
    this.#addresses.set(host, address);
    if (port === undefined) this.#ports.delete(host);
    else this.#ports.set(host, port);
    this.#index = new MemberIndex(this.#members.values(), this.#addresses, this.#ports);
  }

  /** The configured member of a pair in a role. */
  member(pair: string, role: Role): HaMemberSpec | null {
    return this.#pairs.get(pair)?.members[role].spec ?? null;
  }

  pairState(pair: string): PairStateName | null {
    return this.#pairs.get(pair)?.machine.state ?? null;
  }

  isInService(pair: string): boolean {
    return this.#pairs.get(pair)?.machine.activeRole != null;
  }

  activeMember(pair: string): HaMemberSpec | null {
    const entry = this.#pairs.get(pair);
    const role = entry?.machine.activeRole;
    return entry && role ? entry.members[role].spec : null;
  }

  /** Where to send a request for the pair (maintenance.ts hopsOf). */
  nextHops(pair: string, newDialog = false): HaMemberSpec[] {
    const entry = this.#pairs.get(pair);
    return entry ? hopsOf(entry, newDialog) : [];
  }

  /**
   * Every request received goes through here. A request other than OPTIONS from the
   * member that is not active proves it has taken over: it becomes active at once (and
   * counts as alive). Returns null unless the transport identifies one member (a member
   * host that names none never switches a pair).
   */
  onRequestFrom(sender: TransportSender, method: string, now: number): RequestOrigin | null {
    const entry = this.#index.identify(sender)?.member;
    if (!entry) return null;
    const location = locationOf(entry);
    if (method.toUpperCase() === "OPTIONS") return { ...location, switched: false };
    const pair = entry.pair;
    // A member in maintenance still ends its calls (BYE...): that is no takeover.
    if (pair.machine.activeRole === entry.role || entry.maintenance) {
      return { ...location, switched: false };
    }
    if (entry.health.markAlive(now) === "up") this.#changed(entry, "up", now);
    this.#apply(pair, pair.machine.onTrafficFrom(entry.role, now));
    return { ...location, switched: true };
  }

  /**
   * A request forwarded to this member went unanswered or failed at the transport
   * (the proxy reports this; a 503 answer is an answer and does not count).
   * Marks it suspect and asks for a probe at once (see the file comment).
   * Returns false when the address is no member.
   */
  onForwardFailure(member: { host: string; port: number }, now: number): boolean {
    const entry = this.#index.at(member.host, member.port);
    if (!entry) return false;
    if (entry.health.status === "down") return true;
    entry.health.markSuspect();
    this.#prober.probeNow(entry.key, now);
    return true;
  }

  /** Operator switchover to the member that is not active (or `options.to`). */
  switchover(pair: string, options: SwitchoverOptions, now: number): SwitchoverResult {
    const entry = this.#pairs.get(pair);
    const plan = planSwitchover(pair, entry, options);
    if (entry && plan.to) this.#apply(entry, entry.machine.manual(plan.to, now));
    return plan.result;
  }

  /** Puts a member in maintenance or ends it (maintenance.ts); may switch the pair. */
  maintenance(
    pair: string,
    role: Role,
    on: boolean,
    force: boolean,
    now: number,
  ): MaintenanceResult {
    const entry = this.#pairs.get(pair);
    const plan = planMaintenance(pair, entry, role, on, force);
    if (entry && plan.switchTo) {
      this.#apply(entry, entry.machine.manual(plan.switchTo, now, "maintenance"));
    }
    return plan.result;
  }

  /**
   * Counts the probes that timed out as misses, then starts the probes due now and
   * returns them with the events the misses caused. Call it again at
   * `nextProbeDeadline()`.
   */
  probesDue(now: number): { probes: DueProbe[]; events: HaEvent[] } {
    const probes: DueProbe[] = [];
    const events = this.#collect(() => {
      this.#branches.purge(now);
      for (const p of this.#prober.due(now)) {
        const dest = probeDest(p.member);
        const branch = this.#branches.open(p.key, p.id, dest, p.deadline);
        probes.push({
          pair: p.pair,
          role: p.role,
          member: p.member,
          branch,
          dest,
          deadline: p.deadline,
        });
      }
    });
    return { probes, events };
  }

  /**
   * An answer to the probe with this Via branch, from `from`. Returns the events it
   * caused, or null when the branch belongs to no probe we know (a stale answer). An
   * answer from anywhere but the probed member's address (MemberIndex.couldBe) is
   * dropped and counted (`rejectedProbeAnswers`): whoever saw the probe could forge it.
   */
  probeAnswer(
    branch: string,
    statusCode: number,
    from: TransportSender,
    now: number,
  ): HaEvent[] | null {
    const probe = this.#branches.find(branch);
    if (!probe) return null;
    const m = this.#members.get(probe.key);
    if (m && !this.#index.couldBe(m, from)) {
      this.#rejected.count(m.key);
      return [];
    }
    // Its probe already counted as a miss; a late answer changes nothing.
    if (probe.late) return [];
    return this.#collect(() => this.#prober.onAnswer(probe.id, statusCode, now));
  }

  /** Sending to `dest` failed (a refused connection): its probes in flight miss at once. */
  probeTransportError(dest: ProbeDest, now: number): HaEvent[] {
    return this.#collect(() => {
      for (const id of this.#branches.idsTo(dest)) this.#prober.onTransportError(id, now);
    });
  }

  /** When `probesDue` next has something to do (a probe due or one timing out). */
  nextProbeDeadline(): number {
    return this.#prober.nextDeadline();
  }

  /** What /status shows. `wallNow` is the wall clock at `now`, to show times as dates. */
  snapshot(now: number, wallNow: number = now): HaSnapshot {
    const wallOffset = wallNow - now;
    const pairs = [...this.#pairs.values()].map((p) =>
      pairSnapshot(p.name, p.machine, ROLES.map((r) => p.members[r]), wallOffset)
    );
    return {
      at: toIso(wallNow),
      switchoverCount: pairs.reduce((n, p) => n + p.switchoverCount, 0),
      pairs,
    };
  }

  /** Switchovers by pair and reason, every reason (0 until one happens); kept by a renamed pair. */
  switchoverCounts(): Array<{ pair: string; reason: SwitchReason; count: number }> {
    return [...this.#pairs.values()].flatMap((p) =>
      SWITCH_REASONS.map((reason) => ({ pair: p.name, reason, count: p.machine.countOf(reason) }))
    );
  }

  /** Probe round-trip time histograms (seconds), one per member. */
  probeRtt(): ProbeRtt[] {
    return probeRttOf(this.#counted());
  }

  /** Probe results by member and outcome ("ok", "timeout", "transport-error", "bad-status"). */
  probeResults(): ProbeResultCount[] {
    return probeResultsOf(this.#counted());
  }

  /** Times each member was reported flapping. */
  flapCounts(): FlapCount[] {
    return flapsOf(this.#counted());
  }

  /** Probe answers dropped for their source, by probed member (kept while it stays). */
  rejectedProbeAnswers(): RejectedAnswerCount[] {
    return this.#rejected.list(this.#members.values());
  }

  /**
   * Applies a reloaded config. Pairs whose primary and backup are the same servers as
   * before keep their health, active member, history and probe schedule (even when
   * renamed); all others start afresh. Throws, changing nothing, on bad probe settings.
   */
  reconfigure(config: HaConfig, now: number): void {
    const settings = probeSettings(config.probe);
    this.#settings = settings;
    this.#prober.setTiming(settings.timing);
    this.#install(config.pairs, now);
  }

  #install(specs: readonly HaPairSpec[], now: number): void {
    const { pairs, members } = reloadEntries(specs, this.#pairs.values(), now);
    for (const key of this.#prober.keys()) {
      if (members.has(key)) continue;
      this.#prober.remove(key);
      this.#branches.close(key, true);
    }
    for (const m of members.values()) {
      this.#prober.add(m.key, { pair: m.pair.name, role: m.role, member: m.spec }, now);
    }
    this.#pairs = pairs;
    this.#members = members;
    this.#index = new MemberIndex(members.values(), this.#addresses, this.#ports);
  }

  #onProbeResult(key: string, outcome: ProbeOutcome, now: number): void {
    this.#branches.close(key, outcome.kind === "miss" && outcome.cause === "timeout");
    const m = this.#members.get(key);
    if (!m) return;
    if (outcome.kind === "answer") m.stats.rtt.observe(outcome.rttMs / 1000);
    if (outcome.kind === "answer" && this.#settings.isUp(outcome.statusCode)) {
      m.stats.count("ok");
      const rise = this.#settings.rise;
      if (m.health.recordAnswer(now, outcome.rttMs, outcome.statusCode, rise) === "up") {
        this.#changed(m, "up", now);
        this.#apply(m.pair, m.pair.machine.onMemberUp(m.role, now));
      }
      return;
    }
    const cause: ProbeMissCause = outcome.kind === "answer" ? "bad-status" : outcome.cause;
    m.stats.count(cause);
    const answer = outcome.kind === "answer"
      ? { statusCode: outcome.statusCode, rttMs: outcome.rttMs }
      : undefined;
    const other = m.pair.members[otherRole(m.role)].health.status;
    const failures = this.#settings.failures;
    if (m.health.recordMiss(now, cause, failures, answer, other === "up") !== "down") return;
    this.#changed(m, "down", now, cause);
    const reason: SwitchReason = m.health.downWhileSuspect ? "forward-failure" : "probe-timeout";
    this.#apply(m.pair, m.pair.machine.onMemberDown(m.role, other, reason, now));
  }

  #apply(pair: PairEntry, change: Switchover | null): void {
    if (!change) return;
    if (change.to === null) {
      for (const role of ROLES) this.#prober.expedite(pair.members[role].key, change.at);
      this.#emit({
        type: "pair-out-of-service",
        pair: pair.name,
        from: change.from,
        reason: change.reason,
        at: change.at,
      });
    } else {
      this.#emit({
        type: "switchover",
        pair: pair.name,
        from: change.from,
        to: change.to,
        reason: change.reason,
        at: change.at,
      });
    }
  }

  /** A member's health changed: its event, and a flapping one once per window. */
  #changed(m: MemberEntry, to: "up" | "down", now: number, cause?: ProbeMissCause): void {
    const who = { pair: m.pair.name, member: m.spec.uri, role: m.role, at: now };
    if (to === "up") this.#emit({ type: "member-up", ...who });
    else this.#emit({ type: "member-down", ...who, cause: cause! });
    const changes = m.health.flappingNow(now);
    if (changes === 0) return;
    m.stats.flaps++;
    this.#emit({ type: "member-flapping", ...who, changes });
  }

  /** Runs a probe step and returns the events it caused. */
  #collect(step: () => void): HaEvent[] {
    const caused: HaEvent[] = [];
    this.#caused = caused;
    try {
      step();
    } finally {
      this.#caused = null;
    }
    return caused;
  }

  #emit(event: HaEvent): void {
    this.#caused?.push(event);
    for (const listener of this.#listeners) {
      // A failing log sink must not stop failover or the other listeners.
      try {
        listener(event);
      } catch {
        // ignored on purpose
      }
    }
  }

  #counted() {
    return [...this.#members.values()].map((m) => ({
      pair: m.pair.name,
      role: m.role,
      member: m.spec.uri,
      stats: m.stats,
    }));
  }
}
