/**
 * `--soak`: does the proxy's memory settle under load, and does it keep judging a
 * healthy pair healthy? First the resident set at a fixed steady rate (2,000 calls/s
 * by default), then a long run at half the highest clean rate (or --soak-rate),
 * printing RSS and vipless_transactions (from /metrics) as it goes; the table gives the
 * start and end values, failed calls and the HA events counted from the log (any one
 * is a false judgement: both members stay up). Transactions stay up to 64*T1 = 32 s
 * after a call (RFC 6026 Timer L/M, Timer J), so "start" is taken once that time has
 * passed and the count is steady.
 */
import { eventCounts } from "./ha-events.ts";
import { runStep, type StepResult } from "./measure.ts";
import { fix, KAMAILIO_NOTE, stepLine } from "./report.ts";
import { median, type Sample, sampler } from "./samples.ts";
import type { Settings, Target } from "./targets.ts";

export interface SoakOptions {
  steadyRate: number;
  steadySeconds: number;
  soakRate: number;
  soakSeconds: number;
  settings: Settings;
  dir: string;
}

/** Seconds after which the live transaction count no longer grows at a steady rate. */
const SETTLED_SECONDS = 35;

interface SoakRow {
  target: Target;
  steadyRssMiB: number;
  steadyPeakMiB: number;
  steadyTransactions: number;
  start?: Sample;
  end?: Sample;
  soak: StepResult;
}

export async function runSoak(targets: Target[], o: SoakOptions): Promise<void> {
  const rows: SoakRow[] = [];
  for (const t of targets) {
    const config = t.config(o.settings);
    console.log(
      `\n## ${t.title} (${config}): RSS at ${o.steadyRate} calls/s for ${o.steadySeconds} s`,
    );
    const steady: Sample[] = [];
    const s1 = await runStep(t, {
      rate: o.steadyRate,
      seconds: o.steadySeconds,
      settings: o.settings,
      dir: o.dir,
      during: sampler(steady, 1000, false),
    });
    console.log(stepLine(s1));
    // Steady state: the last third of the load, when transactions have piled up.
    const tail = steady.slice(Math.floor((steady.length * 2) / 3));
    const steadyRssMiB = median(tail.map((s) => s.rssMiB));
    const steadyTransactions = median(tail.map((s) => s.transactions));
    console.log(
      `steady RSS ${fix(steadyRssMiB)} MiB (median of the last ${tail.length} s), peak ` +
        `${fix(s1.peakRssMiB)} MiB, live transactions ${steadyTransactions}`,
    );

    console.log(
      `\n## ${t.title} (${config}): soak at ${o.soakRate} calls/s for ${o.soakSeconds} s`,
    );
    const soak: Sample[] = [];
    const every = Math.max(5, Math.round(o.soakSeconds / 20)) * 1000;
    const s2 = await runStep(t, {
      rate: o.soakRate,
      seconds: o.soakSeconds,
      settings: o.settings,
      dir: o.dir,
      during: sampler(soak, every, true),
    });
    console.log(stepLine(s2));
    const start = soak.find((s) => s.t >= SETTLED_SECONDS) ?? soak[0];
    const end = soak[soak.length - 1];
    rows.push({
      target: t,
      steadyRssMiB,
      steadyPeakMiB: s1.peakRssMiB,
      steadyTransactions,
      start,
      end,
      soak: s2,
    });
  }
  console.log(
    `\n| proxy | configuration | steady RSS MiB at ${o.steadyRate}/s (peak) | live transactions | ` +
      `soak calls/s × s | RSS MiB after ${SETTLED_SECONDS} s → end | failed calls (UAC / members) | ` +
      "HA events in the log |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of rows) {
    const u = r.soak.uac;
    const rss = r.start && r.end
      ? `${fix(r.start.rssMiB)} → ${fix(r.end.rssMiB)} (${
        fix((r.end.rssMiB / r.start.rssMiB - 1) * 100)
      } %)`
      : "no samples";
    console.log(
      `| ${r.target.title} | ${r.target.config(o.settings)} | ${fix(r.steadyRssMiB)} ` +
        `(${fix(r.steadyPeakMiB)}) | ${fix(r.steadyTransactions, 0)} | ` +
        `${o.soakRate} × ${o.soakSeconds} | ${rss} | ${u.failed} / ${
          fix(r.soak.uasFailed, 0)
        } of ${u.calls} | ` +
        `${eventCounts(r.soak.events)} |`,
    );
  }
  if (rows.some((r) => r.target.id === "kamailio")) console.log(KAMAILIO_NOTE);
}
