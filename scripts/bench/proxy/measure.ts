/**
 * One measurement: a fresh pair (two SIPp UAS), a fresh proxy, one SIPp UAC offering
 * `rate` calls/s for `seconds`; then the proxy's CPU time and peak memory, SIPp's
 * counters and the INVITE->200 times. Everything it starts is stopped before it returns.
 */
import { cpuSeconds, machineCpuTimes, peakRssKiB, stealShare, udpRcvbufErrors } from "./procfs.ts";
import { Child } from "./children.ts";
import type { LoggedEvent } from "./ha-events.ts";
import { join } from "node:path";
import { percentile, startUac, startUas, statRows, type UacResult } from "./sipp.ts";
import type { Ports, RunningProxy, Settings, Target } from "./targets.ts";
import { freePort } from "../../../tests/support/vipless-process.ts";

/** At most this share of calls may fail for a run to count as clean (0.1 %). */
export const MAX_FAILED_SHARE = 0.001;
/** Pause between ACK and BYE (ms): the ACK is through before the BYE starts. */
export const CALL_MS = 500;

export interface StepResult {
  target: Target;
  rate: number;
  seconds: number;
  uac: Omit<UacResult, "child" | "rows" | "rtt">;
  clean: boolean;
  /** Why the run was not clean, for the log. */
  why: string;
  p50: number;
  p99: number;
  /** Proxy CPU (user + system) over the load, seconds. */
  cpu: number;
  /** Peak resident set of the proxy (summed over its processes), MiB. */
  peakRssMiB: number;
  /** Proxy CPU divided by the load's wall time: 1.0 = one core busy all the time. */
  cores: number;
  /** CPU of the three SIPp processes over the same time, seconds. */
  sippCpu: number;
  /** Selected vipless counters after the run. */
  counters: string;
  /** vipless /metrics right after the load (undefined for Kamailio or if unreadable). */
  metrics?: Map<string, number>;
  /** HA events the proxy logged from the load's start until it was stopped. */
  events: LoggedEvent[];
  /** Wall-clock ms when the UAC started. */
  loadStartedAt: number;
  /** Growth of the kernel's UDP RcvbufErrors over the run (machine-wide), or NaN. */
  rcvbufErrors: number;
  /** The share of the machine's CPU time stolen by the hypervisor over the run, or NaN. */
  steal: number;
  /**
   * Calls the pair members (SIPp UAS) failed: a call whose ACK never arrived, or whose
   * BYE came unexpected, can still look successful to the UAC.
   */
  uasFailed: number;
}

export async function ports(): Promise<Ports> {
  return {
    sip: await freePort(),
    http: await freePort("tcp"),
    primary: await freePort(),
    backup: await freePort(),
  };
}

/** The sum of every series of a metric (all labels); undefined when it is absent. */
export function metricSum(m: Map<string, number> | undefined, name: string): number | undefined {
  let sum: number | undefined;
  for (const [k, v] of m ?? []) {
    if (k === name || k.startsWith(`${name}{`)) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** vipless counters that explain failures: shed or dropped messages, live transactions. */
function counters(m: Map<string, number> | undefined): string {
  if (!m) return "";
  const sum = (name: string) => metricSum(m, name) ?? 0;
  // By label: which status vipless answered itself, why it dropped messages.
  const byLabel = (name: string) =>
    [...m].filter(([k, v]) => k.startsWith(`${name}{`) && v > 0)
      .map(([k, v]) => `${/="([^"]*)"/.exec(k)?.[1] ?? k}:${v}`).join(",") || "0";
  return `transactions=${sum("vipless_transactions")} ` +
    `local_responses=${byLabel("vipless_local_responses_total")} ` +
    `dropped=${byLabel("vipless_dropped_total")}` +
    (metricSum(m, "vipless_udp_receive_drops_total") !== undefined
      ? ` udp_drops=${sum("vipless_udp_receive_drops_total")}`
      : "") +
    (sum("vipless_overload_rejections_total") > 0
      ? ` overload=${byLabel("vipless_overload_rejections_total")}`
      : "");
}

async function readMetrics(proxy: RunningProxy): Promise<Map<string, number> | undefined> {
  try {
    return await proxy.metrics?.();
  } catch {
    return undefined;
  }
}

export interface StepContext {
  ports: Ports;
  primary: Child;
  backup: Child;
  proxy: RunningProxy;
  uac: Child;
}

export interface StepOptions {
  rate: number;
  seconds: number;
  settings: Settings;
  dir: string;
  /** Called while the load runs (failover: kill the primary in the middle). */
  during?: (ctx: StepContext) => Promise<void>;
  /** Called with the UAC's per-second rows and rtt samples before they are dropped. */
  inspect?: (uac: UacResult) => void;
}

export async function runStep(target: Target, o: StepOptions): Promise<StepResult> {
  const p = await ports();
  const tag = `${target.id}-${o.rate}-${p.sip}`;
  const started: Child[] = [];
  let result: StepResult;
  try {
    const primary = await startUas(p.primary, `${tag}-primary`, o.dir);
    started.push(primary);
    const backup = await startUas(p.backup, `${tag}-backup`, o.dir);
    started.push(backup);
    const proxy = await target.start(p, o.dir, o.settings);
    started.push(proxy.child);

    const pids = proxy.pids();
    const cpu0 = cpuSeconds(pids);
    const rcvbuf0 = udpRcvbufErrors() ?? NaN;
    const times0 = machineCpuTimes();
    const loadStartedAt = Date.now();
    const calls = Math.round(o.rate * o.seconds);
    const uac = startUac({
      target: p.sip,
      localPort: await freePort(),
      rate: o.rate,
      calls,
      callMs: CALL_MS,
      dir: o.dir,
      label: `${tag}-uac`,
      perCallSockets: o.settings.uacPerCallSockets,
    });
    started.push(uac.child);
    // The UAC's /proc entry goes when it exits: sample the load generators' CPU while
    // they run, to tell a saturated SIPp from a saturated proxy.
    const sippPids = [primary.pid, backup.pid, uac.child.pid];
    const sipp0 = cpuSeconds(sippPids);
    let sippCpu = 0;
    const sampler = setInterval(() => {
      sippCpu = Math.max(sippCpu, cpuSeconds(sippPids) - sipp0);
    }, 250);
    const during = o.during?.({ ports: p, primary, backup, proxy, uac: uac.child });
    const r = await uac.finish().finally(() => clearInterval(sampler));
    await during;
    // Read before the proxy stops: its workers are gone afterwards.
    const now = proxy.pids();
    const cpu = cpuSeconds(now) - cpu0;
    const peak = peakRssKiB(now) / 1024;
    const metrics = await readMetrics(proxy);
    const rcvbufErrors = (udpRcvbufErrors() ?? NaN) - rcvbuf0;
    const steal = stealShare(times0, machineCpuTimes());
    o.inspect?.(r);

    const sorted = r.rtt.map((s) => s.ms).sort((a, b) => a - b);
    const created = secondsToCreate(r.rows, calls);
    const allowed = Math.floor(calls * MAX_FAILED_SHARE);
    const whys: string[] = [];
    if (r.failed > allowed) whys.push(`${r.failed} failed > ${allowed}`);
    if (created === undefined) whys.push("SIPp never created every call");
    else if (created > o.seconds * 1.1 + 1) {
      whys.push(`offered rate not reached (${calls} calls took ${created} s)`);
    }
    const { child: _c, rows: _r, rtt: _t, ...summary } = r;
    result = {
      target,
      rate: o.rate,
      seconds: o.seconds,
      uac: summary,
      clean: whys.length === 0,
      why: whys.join("; "),
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      cpu,
      peakRssMiB: peak,
      cores: cpu / Math.max(1, r.wallSeconds),
      sippCpu,
      counters: proxy.metrics && !metrics ? "metrics unavailable" : counters(metrics),
      metrics,
      events: proxy.events.between(loadStartedAt),
      loadStartedAt,
      rcvbufErrors,
      steal,
      uasFailed: NaN,
    };
  } finally {
    for (const c of started.reverse()) await c.stop();
  }
  // SIPp writes its last counters as it exits: read the members' once they are stopped.
  result.uasFailed = ["primary", "backup"]
    .map((m) => Number(lastRow(join(o.dir, `${tag}-${m}-stat.csv`))?.["FailedCall(C)"] ?? NaN))
    .reduce((a, b) => a + b, 0);
  const allowed = Math.floor(result.uac.calls * MAX_FAILED_SHARE);
  if (result.uasFailed > allowed) {
    result.clean = false;
    result.why = [result.why, `${result.uasFailed} failed at the members > ${allowed}`]
      .filter((w) => w).join("; ");
  }
  return result;
}

function lastRow(file: string): Record<string, string> | undefined {
  const rows = statRows(file);
  return rows[rows.length - 1];
}

/** SIPp's elapsed seconds when the last of `calls` was created (1 s resolution). */
function secondsToCreate(rows: Array<Record<string, string>>, calls: number): number | undefined {
  for (const row of rows) {
    if (Number(row["OutgoingCall(C)"] ?? 0) >= calls) {
      const [h, m, s] = (row["ElapsedTime(C)"] ?? "").split(":").map(Number);
      return h * 3600 + m * 60 + s;
    }
  }
  return undefined;
}
