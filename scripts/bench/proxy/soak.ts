/**
 * `--soak`: does vipless's memory settle under load? First the resident set at a fixed
 * steady rate (2,000 calls/s by default), then a long run at half the highest clean
 * rate, printing RSS and vipless_transactions (from /metrics) as it goes, and the start
 * and end values. Transactions stay up to 64*T1 = 32 s after a call (RFC 6026 Timer L/M,
 * Timer J), so "start" is taken once that time has passed and the count is steady.
 */
import { sleep } from "./children.ts";
import { runStep, type StepContext } from "./measure.ts";
import { rssKiB } from "./procfs.ts";
import { stepLine } from "./report.ts";
import type { Settings, Target } from "./targets.ts";

export interface SoakOptions {
  steadyRate: number;
  steadySeconds: number;
  soakRate: number;
  soakSeconds: number;
  settings: Settings;
  dir: string;
}

interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssMiB: number;
  transactions: number;
}

/** Seconds after which the live transaction count no longer grows at a steady rate. */
const SETTLED_SECONDS = 35;

/** Samples RSS and live transactions every `everyMs` while the UAC runs. */
function sampler(samples: Sample[], everyMs: number, print: boolean) {
  return async (ctx: StepContext): Promise<void> => {
    const t0 = Date.now();
    for (let i = 0; i < 100_000 && ctx.uac.running; i++) {
      await sleep(everyMs);
      if (!ctx.uac.running) break;
      let transactions = NaN;
      try {
        transactions = (await ctx.proxy.metrics?.())?.get("vipless_transactions") ?? NaN;
      } catch {
        // the HTTP side did not answer in time: keep the RSS sample
      }
      const s = {
        t: Math.round((Date.now() - t0) / 1000),
        rssMiB: rssKiB(ctx.proxy.pids()) / 1024,
        transactions,
      };
      samples.push(s);
      if (print) {
        console.log(`  t=${s.t}s  RSS ${s.rssMiB.toFixed(1)} MiB  transactions ${s.transactions}`);
      }
    }
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function runSoak(targets: Target[], o: SoakOptions): Promise<void> {
  for (const t of targets) {
    console.log(`\n## ${t.title}: RSS at ${o.steadyRate} calls/s for ${o.steadySeconds} s`);
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
    console.log(
      `steady RSS ${median(tail.map((s) => s.rssMiB)).toFixed(1)} MiB (median of the last ` +
        `${tail.length} s), peak ${s1.peakRssMiB.toFixed(1)} MiB, live transactions ` +
        `${median(tail.map((s) => s.transactions))}`,
    );

    console.log(`\n## ${t.title}: soak at ${o.soakRate} calls/s for ${o.soakSeconds} s`);
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
    if (!start || !end) {
      console.log("soak: no samples (the load ended at once?)");
      continue;
    }
    console.log(
      `soak: start (t=${start.t}s) RSS ${start.rssMiB.toFixed(1)} MiB, ${start.transactions} ` +
        `transactions; end (t=${end.t}s) RSS ${end.rssMiB.toFixed(1)} MiB, ` +
        `${end.transactions} transactions; RSS change ` +
        `${(end.rssMiB - start.rssMiB).toFixed(1)} MiB; ${s2.uac.failed} of ${s2.uac.calls} ` +
        `calls failed`,
    );
  }
}
