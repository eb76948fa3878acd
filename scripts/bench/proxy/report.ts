/** The machine description and the result table the benchmark prints (Markdown). */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { relative } from "node:path";
import { eventCounts } from "./ha-events.ts";
import type { StepResult } from "./measure.ts";
import { machineCpuTimes, stealShare } from "./procfs.ts";
import { SIPP, sippVersion } from "./sipp.ts";
import { DIST_BIN, ROOT, type Settings, type Target } from "./targets.ts";

/** When dist/vipless was built: the binary measured may be older than the tree. */
function builtAt(): string {
  return existsSync(DIST_BIN) ? statSync(DIST_BIN).mtime.toISOString() : "never";
}

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: ROOT });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown";
}

export function load1(): number {
  return loadavg()[0];
}

/**
 * The hypervisor's share of this VM's CPUs over one idle second before the run: above a
 * few percent, the machine's neighbours are busy and rates are lower than on a quiet one.
 */
function idleStealLine(): string {
  const from = machineCpuTimes();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  const share = stealShare(from, machineCpuTimes());
  if (Number.isNaN(share)) return "- CPU steal: unknown (no /proc/stat)";
  return `- CPU steal over 1 s before the run: ${fix(share * 100, 0)} %` +
    (share > 0.05 ? " (the VM's host was busy: rates are lower than on a quiet machine)" : "");
}

/** Lines describing where and with what the numbers were measured. */
export function machineLines(targets: Target[], command: string, settings: Settings): string[] {
  const la = loadavg().map((x) => x.toFixed(2)).join(", ");
  const lines = [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${sh("nproc", [])} CPUs (nproc), ${cpuModel()}, ` +
    `${(Number(sh("getconf", ["_PHYS_PAGES"])) * 4096 / 2 ** 30).toFixed(1)} GiB`,
    `- load average at start: ${la}` +
    (load1() > 1 ? " (above 1: the machine was shared, numbers are provisional)" : ""),
    idleStealLine(),
    `- vipless: tree ${sh("git", ["describe", "--always", "--dirty"])}, ` +
    `${relative(ROOT, DIST_BIN)} built ${builtAt()}`,
    ...targets.map((t) => `- ${t.title}: ${t.version()}; configuration: ${t.config(settings)}`),
    `- load: ${sippVersion(sh(SIPP, ["-v"])) ?? "SIPp"}, UDP on 127.0.0.1, the caller ${
      settings.uacPerCallSockets ? "on one socket per call (-t un)" : "on one socket (-t u1)"
    }`,
    `- command: \`${command}\``,
  ];
  return lines;
}

export const fix = (n: number, d = 1) => Number.isFinite(n) ? n.toFixed(d) : "–";

/** Proxy CPU seconds per 10,000 successful calls. */
export const cpuPer10k = (s: StepResult) => s.cpu / Math.max(1, s.uac.successful) * 10_000;

/** The result table: the best clean step of each target, with its configuration. */
export function resultTable(
  best: Map<Target, StepResult | undefined>,
  cut: Set<Target>,
  settings: Settings,
) {
  const kam = [...best].find(([t]) => t.id === "kamailio")?.[1];
  const rows = [
    "| proxy | configuration | highest clean calls/s | vs Kamailio | INVITE→200 p50 / p99 ms | " +
    "INVITE retrans | CPU s per 10k calls | proxy CPU (cores) | peak RSS MiB |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [t, s] of best) {
    const note = cut.has(t) ? " (search cut short)" : "";
    const config = t.config(settings);
    if (!s) {
      rows.push(`| ${t.title} | ${config} | none clean${note} | – | – | – | – | – | – |`);
      continue;
    }
    const ratio = kam ? fix(s.rate / kam.rate, 2) : "–";
    rows.push(
      `| ${t.title} | ${config} | ${s.rate}${note} | ${ratio} | ` +
        `${fix(s.p50, 0)} / ${fix(s.p99, 0)} | ${fix(s.uac.inviteRetransmissions, 0)} | ` +
        `${fix(cpuPer10k(s), 2)} | ${fix(s.cores, 2)} | ${fix(s.peakRssMiB, 1)} |`,
    );
  }
  return rows;
}

/** One line per measurement, printed as the search runs. */
export function stepLine(s: StepResult): string {
  const u = s.uac;
  return `${s.clean ? "clean " : "FAILED"} ${s.target.id.padEnd(16)} ${
    String(s.rate).padStart(5)
  }/s ` +
    `${u.successful}/${u.calls} ok` +
    (s.uasFailed ? ` (${fix(s.uasFailed, 0)} failed at the members)` : "") +
    `, ${u.retransmissions} retrans ` +
    `(${fix(u.inviteRetransmissions, 0)} INVITE), ` +
    `p50/p99 ${fix(s.p50, 0)}/${fix(s.p99, 0)} ms, proxy ${fix(s.cpu, 2)} s CPU ` +
    `(${fix(s.cores, 2)} cores), SIPp ${fix(s.sippCpu, 2)} s, ` +
    `peak ${fix(s.peakRssMiB, 0)} MiB` +
    (s.steal >= 0.01 ? `, CPU steal ${fix(s.steal * 100, 0)} %` : "") +
    (s.counters ? `, ${s.counters}` : "") +
    (s.events.length ? `, HA events: ${eventCounts(s.events)}` : "") +
    (u.reasons.length ? `, ${u.reasons.join(" ")}` : "") +
    (s.why ? ` — ${s.why}` : "");
}

/** Printed under a table with Kamailio in it: what its columns mean there. */
export const KAMAILIO_NOTE = "\nKamailio: HA events are its dispatcher's dst-down/dst-up " +
  "event routes (timed when the log line arrived); RSS is VmRSS/VmHWM summed over its " +
  "processes, which counts its shared memory once per process; no live-transaction gauge.";
