/**
 * Samples taken while a load runs (--soak, --sustain): the proxy's resident set and,
 * for vipless, gauges and counters from /metrics, every few seconds; afterwards SIPp's
 * own per-second counters are matched to each sample's time.
 */
import { sleep } from "./children.ts";
import { metricSum, type StepContext } from "./measure.ts";
import { rssKiB } from "./procfs.ts";

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  rssMiB: number;
  /** vipless_transactions; NaN for Kamailio or when /metrics did not answer. */
  transactions: number;
  /** vipless_overload_rejections_total (all reasons); undefined where not exported. */
  overload?: number;
  /** vipless_udp_receive_drops_total; undefined where not exported. */
  udpDrops?: number;
}

/** A `during` hook: samples every `everyMs` while the UAC runs, printing each if asked. */
export function sampler(samples: Sample[], everyMs: number, print: boolean) {
  return async (ctx: StepContext): Promise<void> => {
    const t0 = Date.now();
    for (let i = 0; i < 100_000 && ctx.uac.running; i++) {
      await sleep(everyMs - ((Date.now() - t0) % everyMs));
      if (!ctx.uac.running) break;
      let m: Map<string, number> | undefined;
      try {
        m = await ctx.proxy.metrics?.();
      } catch {
        // the HTTP side did not answer in time: keep the RSS sample
      }
      const s: Sample = {
        t: Math.round((Date.now() - t0) / 1000),
        rssMiB: rssKiB(ctx.proxy.pids()) / 1024,
        transactions: metricSum(m, "vipless_transactions") ?? NaN,
        overload: metricSum(m, "vipless_overload_rejections_total"),
        udpDrops: metricSum(m, "vipless_udp_receive_drops_total"),
      };
      samples.push(s);
      if (print) {
        console.log(`  t=${s.t}s  RSS ${s.rssMiB.toFixed(1)} MiB  transactions ${s.transactions}`);
      }
    }
  };
}

/** SIPp's elapsed time of a -trace_stat row ("HH:MM:SS:micros"), seconds. */
export function elapsedSeconds(row: Record<string, string>): number {
  const [h, m, s, us] = (row["ElapsedTime(C)"] ?? "").split(":").map(Number);
  return h * 3600 + m * 60 + s + (us || 0) / 1e6;
}

/** The last SIPp row at or before `t` seconds, or undefined. */
export function rowAt(
  rows: Array<Record<string, string>>,
  t: number,
): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const row of rows) {
    if (elapsedSeconds(row) > t + 0.5) break;
    found = row;
  }
  return found;
}

export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
