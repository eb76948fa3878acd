/**
 * `--overload --rate R`: overload without collapse (issue 11, item 3). Through each
 * proxy in turn: a UAC offers 2.5 × R calls/s for 10 s (R: the highest clean rate),
 * and from 10 s on a second UAC offers R / 2 for 30 s. Reported side by side: the
 * share of the overload phase's offered calls that completed (goal ≥ 60 %), how many
 * the proxy refused itself (vipless: vipless_overload_rejections_total, the 503s it
 * shed early) and how many it accepted but did not complete, the failed calls of the
 * half-load phase (goal 0), and the HA events in the proxy's log (goal none).
 */
import { freePort } from "../../../tests/support/vipless-process.ts";
import { sleep } from "./children.ts";
import { eventCounts } from "./ha-events.ts";
import { CALL_MS, metricSum, runStep, type StepResult } from "./measure.ts";
import { fix, KAMAILIO_NOTE, stepLine } from "./report.ts";
import { startUac, type UacResult } from "./sipp.ts";
import type { Settings, Target } from "./targets.ts";

export interface OverloadOptions {
  /** The highest clean rate, calls/s. */
  rate: number;
  settings: Settings;
  dir: string;
  /** Overload factor and seconds, then the half-load seconds (2.5, 10, 30). */
  factor?: number;
  overloadSeconds?: number;
  halfSeconds?: number;
}

interface OverloadRow {
  target: Target;
  step?: StepResult;
  half?: UacResult;
  error?: string;
}

export async function runOverload(targets: Target[], o: OverloadOptions): Promise<boolean> {
  const factor = o.factor ?? 2.5;
  const overSeconds = o.overloadSeconds ?? 10;
  const halfSeconds = o.halfSeconds ?? 30;
  const overRate = Math.round(o.rate * factor);
  const halfRate = Math.round(o.rate / 2);
  const rows: OverloadRow[] = [];
  for (const t of targets) {
    console.log(
      `\n## ${t.title} (${t.config(o.settings)}): ${overRate} calls/s for ${overSeconds} s, ` +
        `then ${halfRate} calls/s for ${halfSeconds} s`,
    );
    const row: OverloadRow = { target: t };
    try {
      row.step = await runStep(t, {
        rate: overRate,
        seconds: overSeconds,
        settings: o.settings,
        dir: o.dir,
        // The half-load UAC starts as the overload phase ends and runs to its end; the
        // step waits for it before it reads the proxy's counters and stops everything.
        during: async (ctx) => {
          await sleep(overSeconds * 1000);
          const half = startUac({
            target: ctx.ports.sip,
            localPort: await freePort(),
            rate: halfRate,
            calls: halfRate * halfSeconds,
            callMs: CALL_MS,
            dir: o.dir,
            label: `${t.id}-${ctx.ports.sip}-half`,
          });
          try {
            row.half = await half.finish();
          } finally {
            await half.child.stop();
          }
        },
      });
      console.log(stepLine(row.step));
      if (row.half) {
        console.log(`  half load: ${row.half.calls} calls, ${row.half.failed} failed`);
      }
    } catch (e) {
      row.error = (e as Error).message;
      console.log(`ERROR ${t.id}: ${row.error}`);
    }
    rows.push(row);
  }
  console.log("\n" + overloadTable(rows, o, overRate, halfRate).join("\n"));
  if (rows.some((r) => r.target.id === "kamailio")) console.log(KAMAILIO_NOTE);
  return rows.every((r) => r.step !== undefined && r.half !== undefined);
}

function overloadTable(rows: OverloadRow[], o: OverloadOptions, over: number, half: number) {
  const out = [
    `| proxy | configuration | overload phase: offered | completed | % of offered | ` +
    `refused early by the proxy (503) | accepted, not completed | half-load phase (${half}/s): ` +
    `calls | failed | HA events in the log |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows) {
    const config = r.target.config(o.settings);
    const s = r.step;
    if (!s || !r.half) {
      out.push(
        `| ${r.target.title} | ${config} | error: ${r.error ?? "no half-load run"} |` +
          " | | | | | | |",
      );
      continue;
    }
    const u = s.uac;
    // Refusals counted by vipless cover both phases; the half-load phase should have none.
    const refused = metricSum(s.metrics, "vipless_overload_rejections_total");
    const notCompleted = refused === undefined ? undefined : u.failed - refused;
    out.push(
      `| ${r.target.title} | ${config} | ${u.calls} (${over}/s) | ${u.successful} | ` +
        `${fix((100 * u.successful) / u.calls, 1)} | ${refused ?? "–"} | ` +
        `${notCompleted === undefined ? "–" : notCompleted} | ${r.half.calls} | ` +
        `${r.half.failed} | ${eventCounts(s.events)} |`,
    );
  }
  return out;
}
