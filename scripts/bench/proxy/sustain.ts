/**
 * `--sustain RATE --duration S`: one SIPp run at a fixed rate through each chosen proxy
 * in turn, the way an operator's traffic arrives: not the highest clean rate of a short
 * step, but whether a rate holds for minutes. Per proxy: failed calls, INVITE
 * retransmissions, INVITE->200 p50/p99, peak RSS, CPU per 10,000 calls, HA events from
 * the log, vipless's overload rejections and UDP receive drops (/metrics, where
 * exported) and the kernel's RcvbufErrors growth; and a time series every 5 s of RSS,
 * live transactions and SIPp's failed calls and retransmissions so far.
 */
import { eventCounts } from "./ha-events.ts";
import { metricSum, runStep, type StepResult } from "./measure.ts";
import { cpuPer10k, fix, KAMAILIO_NOTE, stepLine } from "./report.ts";
import { rowAt, type Sample, sampler } from "./samples.ts";
import type { Settings, Target } from "./targets.ts";

export interface SustainOptions {
  rate: number;
  seconds: number;
  settings: Settings;
  dir: string;
  /** Sampling period of the time series, ms (5 s). */
  everyMs?: number;
}

interface SustainRow {
  target: Target;
  step?: StepResult;
  error?: string;
  samples: Sample[];
}

/** A number for a table cell; "–" where the proxy does not export it. */
const cell = (n: number | undefined, d = 0) => n === undefined ? "–" : fix(n, d);

/** The time series: one line per sample, SIPp's counters matched by elapsed time. */
export function seriesTable(samples: Sample[], rows: Array<Record<string, string>>): string[] {
  const out = [
    "| t s | RSS MiB | live transactions | calls failed so far | retransmissions so far | " +
    "overload rejections | UDP receive drops |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of samples) {
    const row = rowAt(rows, s.t);
    const failed = row ? Number(row["FailedCall(C)"] ?? NaN) : NaN;
    const retrans = row ? Number(row["Retransmissions(C)"] ?? NaN) : NaN;
    out.push(
      `| ${s.t} | ${fix(s.rssMiB)} | ${fix(s.transactions, 0)} | ${fix(failed, 0)} | ` +
        `${fix(retrans, 0)} | ${cell(s.overload)} | ${cell(s.udpDrops)} |`,
    );
  }
  return out;
}

export async function runSustain(targets: Target[], o: SustainOptions): Promise<boolean> {
  const results: SustainRow[] = [];
  for (const t of targets) {
    console.log(`\n## ${t.title} (${t.config(o.settings)}): ${o.rate} calls/s for ${o.seconds} s`);
    const r: SustainRow = { target: t, samples: [] };
    let rows: Array<Record<string, string>> = [];
    try {
      r.step = await runStep(t, {
        rate: o.rate,
        seconds: o.seconds,
        settings: o.settings,
        dir: o.dir,
        during: sampler(r.samples, o.everyMs ?? 5000, false),
        inspect: (uac) => (rows = uac.rows),
      });
      console.log(stepLine(r.step));
      console.log(`\nover time (${t.id}):\n${seriesTable(r.samples, rows).join("\n")}`);
    } catch (e) {
      r.error = (e as Error).message;
      console.log(`ERROR ${t.id}: ${r.error}`);
    }
    results.push(r);
  }
  console.log("\n" + summaryTable(results, o).join("\n"));
  if (results.some((r) => r.target.id === "kamailio")) console.log(KAMAILIO_NOTE);
  return results.every((r) => r.step !== undefined);
}

function summaryTable(results: SustainRow[], o: SustainOptions): string[] {
  const out = [
    "| proxy | configuration | calls/s × s | calls | failed (UAC / members) | INVITE retrans | " +
    "INVITE→200 p50 / p99 ms | peak RSS MiB | CPU s per 10k calls | live transactions (max) | " +
    "overload rejections | UDP receive drops | kernel RcvbufErrors Δ | HA events in the log |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of results) {
    const config = r.target.config(o.settings);
    const s = r.step;
    if (!s) {
      out.push(
        `| ${r.target.title} | ${config} | ${o.rate} × ${o.seconds} | error: ${r.error} |` +
          " | | | | | | | | | |",
      );
      continue;
    }
    const maxTx = r.samples.reduce(
      (m, x) => Number.isFinite(x.transactions) ? Math.max(m, x.transactions) : m,
      -1,
    );
    out.push(
      `| ${r.target.title} | ${config} | ${o.rate} × ${o.seconds} | ${s.uac.calls} | ` +
        `${s.uac.failed} / ${fix(s.uasFailed, 0)} | ${fix(s.uac.inviteRetransmissions, 0)} | ` +
        `${fix(s.p50, 0)} / ${fix(s.p99, 0)} | ${fix(s.peakRssMiB)} | ${fix(cpuPer10k(s), 2)} | ` +
        `${maxTx < 0 ? "–" : maxTx} | ` +
        `${cell(metricSum(s.metrics, "vipless_overload_rejections_total"))} | ` +
        `${cell(metricSum(s.metrics, "vipless_udp_receive_drops_total"))} | ` +
        `${fix(s.rcvbufErrors, 0)} | ${eventCounts(s.events)} |`,
    );
  }
  return out;
}
