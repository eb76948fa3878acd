/** The machine description and the result table the benchmark prints (Markdown). */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import type { StepResult } from "./measure.ts";
import { SIPP, sippVersion } from "./sipp.ts";
import { DIST_BIN, ROOT, type Target } from "./targets.ts";

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

/** Lines describing where and with what the numbers were measured. */
export function machineLines(targets: Target[], command: string): string[] {
  const la = loadavg().map((x) => x.toFixed(2)).join(", ");
  const lines = [
    `- date: ${new Date().toISOString()}`,
    `- machine: ${sh("nproc", [])} CPUs (nproc), ${cpuModel()}, ` +
    `${(Number(sh("getconf", ["_PHYS_PAGES"])) * 4096 / 2 ** 30).toFixed(1)} GiB`,
    `- load average at start: ${la}` +
    (load1() > 1 ? " (above 1: the machine was shared, numbers are provisional)" : ""),
    `- vipless: tree ${sh("git", ["describe", "--always", "--dirty"])}, ` +
    `dist/ built ${builtAt()}`,
    ...targets.map((t) => `- ${t.title}: ${t.version()}`),
    `- load: ${sippVersion(sh(SIPP, ["-v"])) ?? "SIPp"}, UDP on 127.0.0.1`,
    `- command: \`${command}\``,
  ];
  return lines;
}

const fix = (n: number, d = 1) => Number.isFinite(n) ? n.toFixed(d) : "–";

/** The result table: the best clean step of each target. */
export function resultTable(best: Map<Target, StepResult | undefined>, cut: Set<Target>) {
  const kam = [...best].find(([t]) => t.id === "kamailio")?.[1];
  const rows = [
    "| proxy | highest clean calls/s | vs Kamailio | INVITE→200 p50 / p99 ms | " +
    "CPU s per 10k calls | proxy CPU (cores) | peak RSS MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [t, s] of best) {
    const note = cut.has(t) ? " (search cut short)" : "";
    if (!s) {
      rows.push(`| ${t.title} | none clean${note} | – | – | – | – | – |`);
      continue;
    }
    const ratio = kam ? fix(s.rate / kam.rate, 2) : "–";
    const per10k = s.cpu / Math.max(1, s.uac.successful) * 10_000;
    rows.push(
      `| ${t.title} | ${s.rate}${note} | ${ratio} | ${fix(s.p50, 0)} / ${fix(s.p99, 0)} | ` +
        `${fix(per10k, 2)} | ${fix(s.cores, 2)} | ${fix(s.peakRssMiB, 1)} |`,
    );
  }
  return rows;
}

/** One line per measurement, printed as the search runs. */
export function stepLine(s: StepResult): string {
  const u = s.uac;
  return `${s.clean ? "clean " : "FAILED"} ${s.target.id.padEnd(8)} ${
    String(s.rate).padStart(5)
  }/s ` +
    `${u.successful}/${u.calls} ok, ${u.retransmissions} retrans, ` +
    `p50/p99 ${fix(s.p50, 0)}/${fix(s.p99, 0)} ms, proxy ${fix(s.cpu, 2)} s CPU ` +
    `(${fix(s.cores, 2)} cores), SIPp ${fix(s.sippCpu, 2)} s, ` +
    `peak ${fix(s.peakRssMiB, 0)} MiB` +
    (s.counters ? `, ${s.counters}` : "") +
    (u.reasons.length ? `, ${u.reasons.join(" ")}` : "") +
    (s.why ? ` — ${s.why}` : "");
}
