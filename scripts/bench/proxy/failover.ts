/**
 * `--failover`: calls at half the highest clean rate (or --failover-rate); in the middle
 * of the run the primary UAS is killed with SIGKILL (no goodbye: it just stops
 * answering). Reported per proxy, side by side with Kamailio:
 * - failed calls (calls established on the primary lose their BYE; calls sent to it
 *   before the proxy notices fail unless the proxy retries them on the backup),
 * - slow calls: INVITE->200 above half the failover timeout, i.e. retried on the backup,
 * - the HA events in the proxy's log, and the switchover time: from the kill to the
 *   `at` of vipless's `switchover` event (Kamailio: the arrival of its dispatcher's
 *   dst-down line for the primary). A healthy judgement logs one member-down and one
 *   switchover; more (the backup down, out of service) is a false one.
 * - the time SIPp sees: from the kill to the start of the last new call that did not go
 *   straight to the backup (it failed or needed the retry). Call start times come from
 *   SIPp: the rtt file gives 200-time minus response time; a failed call's start is its
 *   call number over the rate. Under load this misreads (a slow proxy looks like a slow
 *   switch), hence the event.
 *
 * `--failover-both` (issue 11: "both members killed and restarted under load"): both
 * UAS are killed in the middle and restarted `restartAfterS` later on the same ports.
 * For vipless, /metrics is read every 50 ms from the restart on: the first new
 * `vipless_probe_results_total{result="ok"}` is a restarted member's first probe
 * answer, the first new `vipless_responses_total{class="2xx"}` the first call answered
 * again; the time between them is set against the goal rise × interval.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Child, sleep } from "./children.ts";
import { eventCounts, type LoggedEvent } from "./ha-events.ts";
import { runStep, type StepContext, type StepResult } from "./measure.ts";
import { fix, KAMAILIO_NOTE, stepLine } from "./report.ts";
import { startUas, type UacResult } from "./sipp.ts";
import { PROBE_PROFILES } from "./vipless-config.ts";
import type { Settings, Target } from "./targets.ts";

export interface FailoverOptions {
  rate: number;
  seconds: number;
  settings: Settings;
  dir: string;
  /** Kill both members, and restart them this many seconds later. */
  both?: { restartAfterS: number };
}

/** What the restart of both members showed (vipless: from /metrics every 50 ms). */
interface RestartTimes {
  /** Wall-clock s when the members were started again. */
  restartedAt: number;
  /** Seconds from the restart to the first probe answered ok, and to the first 2xx relayed. */
  firstProbeOk?: number;
  firstCall?: number;
}

const okProbes = (m: Map<string, number>) =>
  [...m].filter(([k]) => k.startsWith("vipless_probe_results_total{") && k.includes('result="ok"'))
    .reduce((a, [, v]) => a + v, 0);
const answered = (m: Map<string, number>) => m.get('vipless_responses_total{class="2xx"}') ?? 0;

/**
 * Restarts both members and, where the proxy has /metrics, watches for the first probe
 * answer and the first call answered (at most 15 s); the restarted members run until
 * the UAC has finished.
 */
async function restartBoth(
  ctx: StepContext,
  label: string,
  dir: string,
  times: RestartTimes[],
): Promise<void> {
  const read = async () => {
    try {
      return await ctx.proxy.metrics?.();
    } catch {
      return undefined;
    }
  };
  const before = await read();
  const r: RestartTimes = { restartedAt: Date.now() / 1000 };
  times.push(r);
  // Watched from before the members start: a member answers probes as soon as it runs,
  // before startUas has seen its own OPTIONS answered.
  const watch = (async () => {
    if (before === undefined) return;
    const [probes0, calls0] = [okProbes(before), answered(before)];
    for (let i = 0; i < 300 && ctx.uac.running && r.firstCall === undefined; i++) {
      await sleep(50);
      const m = await read();
      if (m === undefined) continue;
      const at = Date.now() / 1000 - r.restartedAt;
      if (r.firstProbeOk === undefined && okProbes(m) > probes0) r.firstProbeOk = at;
      if (answered(m) > calls0) r.firstCall = at;
    }
  })();
  const restarted: Child[] = [];
  try {
    restarted.push(await startUas(ctx.ports.primary, `${label}-primary-restarted`, dir));
    restarted.push(await startUas(ctx.ports.backup, `${label}-backup-restarted`, dir));
    await watch;
    await ctx.uac.exited;
  } finally {
    await watch;
    for (const c of restarted) await c.stop();
  }
}

interface FailoverResult {
  step: StepResult;
  killedAt: number;
  slow: number;
  failedAfterKill: number;
  /** Seconds from the kill until every new call went straight to the backup (SIPp). */
  switchSeconds: number;
  /** Seconds from the kill to the logged switchover; NaN when none was logged. */
  eventSeconds: number;
  /** Its reason (vipless: probe-timeout, forward-failure, ...). */
  eventReason?: string;
}

/**
 * The logged moment traffic left the primary: vipless's switchover event; Kamailio has
 * none, its dispatcher marking the primary down is the switch.
 */
function switchEvent(
  events: LoggedEvent[],
  killedAtMs: number,
  primaryPort: number,
): LoggedEvent | undefined {
  // `at` is vipless's clock read when it decided; allow for the two processes reading
  // the same wall clock a few ms apart.
  const after = events.filter((e) => e.at >= killedAtMs - 50);
  return after.find((e) => e.type === "switchover") ??
    after.find((e) => e.type === "member-down" && e.member?.endsWith(`:${primaryPort}`));
}

/** SIPp's start time (epoch seconds) from the CurrentTime-style "date\ttime\tepoch" cell. */
function epoch(cell: string | undefined): number {
  return Number((cell ?? "").split("\t")[2] ?? NaN);
}

/**
 * Call numbers of failed calls from SIPp's error log (Call-IDs are N-PID@host). Only
 * "Aborting call" and "receive timeout" events are failures; "Dead call" events are late messages for calls
 * that already ended.
 */
function failedCallNumbers(file: string, pid: number): number[] {
  if (!existsSync(file)) return [];
  const seen = new Set<number>();
  const text = readFileSync(file, "utf8");
  const aborted = new RegExp(`Aborting call[^']*'(\\d+)-${pid}@`, "g");
  const timedOut = new RegExp(`Call-Id: (\\d+)-${pid}@[^,\\s]*, receive timeout`, "g");
  for (const m of text.matchAll(aborted)) seen.add(Number(m[1]));
  for (const m of text.matchAll(timedOut)) seen.add(Number(m[1]));
  return [...seen];
}

function analyse(
  uac: UacResult,
  killedAt: number,
  rate: number,
  failoverMs: number,
  errors: string,
): Omit<FailoverResult, "step" | "killedAt" | "eventSeconds" | "eventReason"> {
  const sippStart = epoch(uac.rows[0]?.["StartTime"]);
  let last = killedAt;
  let slow = 0;
  for (const s of uac.rtt) {
    const start = sippStart + (s.at - s.ms) / 1000;
    if (start < killedAt || s.ms < failoverMs / 2) continue;
    slow++;
    last = Math.max(last, start);
  }
  let failedAfterKill = 0;
  for (const n of failedCallNumbers(errors, uac.child.pid)) {
    const start = sippStart + (n - 1) / rate;
    if (start < killedAt) continue;
    failedAfterKill++;
    last = Math.max(last, start);
  }
  return { slow, failedAfterKill, switchSeconds: last - killedAt };
}

export async function runFailover(targets: Target[], o: FailoverOptions): Promise<void> {
  const results: Array<[Target, FailoverResult | string]> = [];
  const restarts = new Map<Target, RestartTimes>();
  for (const t of targets) {
    console.log(
      `\n## ${t.title}: ${o.rate} calls/s for ${o.seconds} s, ` +
        (o.both
          ? `both members killed at ${o.seconds / 2} s, restarted ${o.both.restartAfterS} s later`
          : `primary killed at ${o.seconds / 2} s`),
    );
    let killedAt = NaN;
    let primaryPort = 0;
    let analysis: ReturnType<typeof analyse> | undefined;
    try {
      const step = await runStep(t, {
        rate: o.rate,
        seconds: o.seconds,
        settings: o.settings,
        dir: o.dir,
        during: async (ctx) => {
          primaryPort = ctx.ports.primary;
          await sleep((o.seconds / 2) * 1000);
          killedAt = Date.now() / 1000;
          ctx.primary.signal("SIGKILL");
          if (!o.both) return;
          ctx.backup.signal("SIGKILL");
          await sleep(o.both.restartAfterS * 1000);
          const times: RestartTimes[] = [];
          await restartBoth(ctx, `${t.id}-${ctx.ports.sip}`, o.dir, times);
          if (times[0]) restarts.set(t, times[0]);
        },
        inspect: (uac) => {
          const errors = join(o.dir, `${uac.child.label}-errors.log`);
          analysis = analyse(uac, killedAt, o.rate, o.settings.failoverMs, errors);
        },
      });
      console.log(stepLine(step));
      if (!analysis) throw new Error("no SIPp results to analyse");
      const e = switchEvent(step.events, killedAt * 1000, primaryPort);
      const eventSeconds = e ? (e.at - killedAt * 1000) / 1000 : NaN;
      results.push([t, { step, killedAt, eventSeconds, eventReason: e?.reason, ...analysis }]);
    } catch (e) {
      console.log(`ERROR ${t.id}: ${(e as Error).message}`);
      results.push([t, (e as Error).message]);
    }
  }
  console.log(
    "\n| proxy | configuration | calls/s | calls | failed (UAC / members) | " +
      "failed, started after the kill | " +
      "retried on the backup (slow) | HA events in the log | switchover logged after the " +
      "kill | new calls straight to the backup after (SIPp) |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |");
  for (const [t, r] of results) {
    const config = t.config(o.settings);
    if (typeof r === "string") {
      console.log(`| ${t.title} | ${config} | ${o.rate} | error: ${r} | | | | | | |`);
      continue;
    }
    const u = r.step.uac;
    console.log(
      `| ${t.title} | ${config} | ${o.rate} | ${u.calls} | ${u.failed} / ` +
        `${fix(r.step.uasFailed, 0)} | ` +
        `${r.failedAfterKill} | ${r.slow} | ${eventCounts(r.step.events)} | ` +
        `${
          Number.isFinite(r.eventSeconds)
            ? `${fix(r.eventSeconds, 3)} s${r.eventReason ? ` (${r.eventReason})` : ""}`
            : "none logged"
        } | ` +
        `${r.switchSeconds.toFixed(2)} s |`,
    );
  }
  console.log(
    "\nfailed at the members: the backup fails (as an unexpected BYE) every call that lived " +
      "on the killed primary and whose BYE a proxy sends on to the backup; the UAC may " +
      "still see that BYE answered.",
  );
  if (o.both) console.log("\n" + restartTable(results, restarts, o).join("\n"));
  if (results.some(([t]) => t.id === "kamailio")) console.log(KAMAILIO_NOTE);
}

function restartTable(
  results: Array<[Target, FailoverResult | string]>,
  restarts: Map<Target, RestartTimes>,
  o: FailoverOptions,
): string[] {
  const p = o.settings.probe ?? PROBE_PROFILES.subsecond;
  const intervalS = Number(/^(\d+)ms$/.exec(p.interval)?.[1] ?? NaN) / 1000 ||
    Number(/^(\d+)s$/.exec(p.interval)?.[1] ?? NaN);
  const rise = 2; // probe.rise: its default, which the bench's configurations keep
  const out = [
    `both members restarted ${o.both!.restartAfterS} s after the kill; goal: the first call ` +
    `answered within rise × interval = ${rise} × ${p.interval} = ${fix(rise * intervalS, 1)} s ` +
    "of the first probe answer (/metrics read every 50 ms)",
    "",
    "| proxy | first probe answered ok, s after restart | first call answered, s after restart | " +
    "first answer → first call, s | HA events in the log |",
    "| --- | ---: | ---: | ---: | --- |",
  ];
  for (const [t, r] of results) {
    const x = restarts.get(t);
    const events = typeof r === "string" ? r : eventCounts(r.step.events);
    const gap = x?.firstCall !== undefined && x.firstProbeOk !== undefined
      ? fix(x.firstCall - x.firstProbeOk, 2)
      : "–";
    out.push(
      `| ${t.title} | ${x?.firstProbeOk === undefined ? "–" : fix(x.firstProbeOk, 2)} | ` +
        `${x?.firstCall === undefined ? "–" : fix(x.firstCall, 2)} | ${gap} | ${events} |`,
    );
  }
  return out;
}
