#!/usr/bin/env bun
/**
 * TLS benchmark: calls over TLS into the proxy and over UDP out to the pair, so every
 * call crosses TLS↔UDP (double Record-Route, RFC 5658). Debian's SIPp has no TLS, so
 * the caller is this script's own generator (scripts/bench/tls-uac.ts: node:tls, a
 * few long-lived connections, INVITE / ACK / BYE at a fixed rate); the pair is two
 * SIPp UAS over UDP, as in the UDP bench (scripts/bench/proxy/). Targets
 * (scripts/bench/tls-targets.ts): dist/vipless with the shipped defaults plus the TLS
 * keys and addresses, and Kamailio with the UDP bench's configuration plus the tls module.
 *
 * Rate search: start at --start-rate, double while clean, then bisect --bisections
 * times; each step --duration s with fresh processes; clean = at most 0.1 % of the calls
 * failed and the generator kept to its schedule (its last INVITE less than 500 ms late).
 * Reported for the best clean step: the rate, INVITE->200 p50/p99, the proxy's CPU
 * seconds per 10,000 calls (/proc/PID/stat utime+stime over the load, summed over
 * Kamailio's processes), the proxy's and the generator's CPU in cores (so that the
 * generator is seen not to be the limit), and the load average. Run under Bun
 * (node:tls); stop with Ctrl-C: every process it started is stopped.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { installCleanup, stopAll } from "./proxy/children.ts";
import { cpuSeconds } from "./proxy/procfs.ts";
import { HOST, percentile, startUas } from "./proxy/sipp.ts";
import { freePort } from "../../tests/support/vipless-process.ts";
import { makeBenchCerts, TLS_TARGETS, type TlsTarget } from "./tls-targets.ts";
import { runUac, type UacResult } from "./tls-uac.ts";

const USAGE = `usage: bun scripts/bench/tls.ts [options]
  targets: vipless-defaults  dist/vipless, shipped defaults + tls.cert/key, listen udp + tls
           kamailio          the UDP bench's Kamailio config + tls module and listener
  --only LIST        comma list (default: vipless-defaults,kamailio)
  --rate R           one step at R calls/s (no search)
  --start-rate R     first rate of the search (500)
  --max-rate R       never offer more (10000)
  --bisections N     bisection steps after the first unclean one (2)
  --duration S       seconds per step (10)
  --budget S         stop a target's search after S seconds (150)
  --connections N    TLS connections the generator spreads its calls over (4)
  --keep             keep the run directory (logs, configs)
  Take the machine's load lock first: flock /tmp/load.lock -c 'bun scripts/bench/tls.ts ...'`;

const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: "string", default: "vipless-defaults,kamailio" },
    rate: { type: "string" },
    "start-rate": { type: "string", default: "500" },
    "max-rate": { type: "string", default: "10000" },
    bisections: { type: "string", default: "2" },
    duration: { type: "string", default: "10" },
    budget: { type: "string", default: "150" },
    connections: { type: "string", default: "4" },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}

const MAX_FAILED_SHARE = 0.001;
const MAX_SCHEDULE_LAG_MS = 500;

interface Step {
  rate: number;
  uac: UacResult;
  clean: boolean;
  why: string;
  p50: number;
  p99: number;
  /** Proxy CPU over the load, s. */
  proxyCpu: number;
  load: string;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
const fix = (n: number, d = 1) => Number.isFinite(n) ? n.toFixed(d) : "–";

async function step(target: TlsTarget, rate: number, dir: string): Promise<Step> {
  const certs = makeBenchCerts();
  const p = {
    sip: await freePort(),
    tls: await freePort("tcp"),
    http: await freePort("tcp"),
    primary: await freePort(),
    backup: await freePort(),
  };
  const uas = [
    await startUas(p.primary, `uas-primary-${p.primary}`, dir),
    await startUas(p.backup, `uas-backup-${p.backup}`, dir),
  ];
  const proxy = await target.start(p, dir, certs);
  try {
    const seconds = Number(opt.duration);
    const cpu0 = cpuSeconds(proxy.pids());
    const uac = await runUac({
      host: HOST,
      port: p.tls,
      ca: certs.ca,
      connections: Number(opt.connections),
      rate,
      calls: Math.round(rate * seconds),
    });
    const proxyCpu = cpuSeconds(proxy.pids()) - cpu0;
    const sorted = [...uac.rtt].sort((a, b) => a - b);
    const failedShare = uac.failed / uac.offered;
    const why = failedShare > MAX_FAILED_SHARE
      ? `${uac.failed} of ${uac.offered} failed (${
        [...uac.reasons].map(([r, n]) => `${r}=${n}`).join(", ")
      })`
      : uac.scheduleLagMs > MAX_SCHEDULE_LAG_MS
      ? `the generator fell ${Math.round(uac.scheduleLagMs)} ms behind its schedule`
      : "";
    return {
      rate,
      uac,
      clean: why === "",
      why,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      proxyCpu,
      load: load(),
    };
  } finally {
    await proxy.child.stop();
    for (const u of uas) await u.stop();
  }
}

function stepLine(t: TlsTarget, s: Step): string {
  const u = s.uac;
  return `${t.id} ${s.rate}/s: ${u.successful}/${u.offered} ok${s.clean ? "" : ` — ${s.why}`}; ` +
    `p50 ${fix(s.p50)} p99 ${fix(s.p99)} ms; proxy ${fix(s.proxyCpu / u.wallSeconds, 2)} cores, ` +
    `${fix(s.proxyCpu / Math.max(1, u.successful) * 10_000, 2)} CPU s/10k; generator ` +
    `${fix(u.cpuSeconds / u.wallSeconds, 2)} cores, ${Math.round(u.scheduleLagMs)} ms late; ` +
    `ACK resent ${u.ackResent}; load ${s.load}`;
}

async function search(t: TlsTarget, dir: string): Promise<Step | undefined> {
  const started = Date.now();
  const budgetMs = Number(opt.budget) * 1000;
  const run = async (rate: number) => {
    const s = await step(t, rate, dir);
    console.log(stepLine(t, s));
    return s;
  };
  if (opt.rate) {
    const s = await run(Number(opt.rate));
    return s.clean ? s : undefined;
  }
  let best: Step | undefined;
  let rate = Number(opt["start-rate"]);
  let bad = Infinity;
  while (rate <= Number(opt["max-rate"]) && Date.now() - started < budgetMs) {
    const s = await run(rate);
    if (!s.clean) {
      bad = rate;
      break;
    }
    best = s;
    rate *= 2;
  }
  let good = best?.rate ?? 0;
  for (let i = 0; i < Number(opt.bisections) && Number.isFinite(bad); i++) {
    if (Date.now() - started >= budgetMs) break;
    const mid = Math.round((good + bad) / 2 / 50) * 50;
    if (mid <= good || mid >= bad) break;
    const s = await run(mid);
    if (s.clean) {
      best = s;
      good = mid;
    } else bad = mid;
  }
  return best;
}

async function main(): Promise<void> {
  installCleanup();
  const ids = opt.only.split(",").map((s) => s.trim()).filter(Boolean);
  const targets: TlsTarget[] = [];
  for (const id of ids) {
    const t = TLS_TARGETS[id as TlsTarget["id"]];
    if (!t) throw new Error(`unknown target ${id}; see --help`);
    const why = t.unavailable();
    if (why) console.log(`${id}: skipped: ${why}`);
    else targets.push(t);
  }
  const dir = mkdtempSync(join(tmpdir(), "vipless-tls-bench-"));
  console.log(`- date: ${new Date().toISOString()}; load average at start: ${load()}`);
  const bun = process.versions.bun;
  console.log(
    `- generator: ${opt.connections} TLS connections (node:tls under ` +
      `${bun ? `bun ${bun}` : "not Bun"}); UAS: SIPp over UDP`,
  );
  for (const t of targets) console.log(`- ${t.title}: ${t.version()}; ${t.config}`);
  const rows: string[] = [];
  try {
    for (const t of targets) {
      const best = await search(t, dir);
      if (best) {
        console.log(
          `${t.id}: Record-Route seen by the caller: ${best.uac.firstRecordRoute.join(", ")}`,
        );
      }
      rows.push(
        best
          ? `| ${t.title} | ${best.rate} | ${fix(best.p50)} / ${fix(best.p99)} | ` +
            `${fix(best.proxyCpu / Math.max(1, best.uac.successful) * 10_000, 2)} | ` +
            `${fix(best.proxyCpu / best.uac.wallSeconds, 2)} | ` +
            `${fix(best.uac.cpuSeconds / best.uac.wallSeconds, 2)} | ${best.load} |`
          : `| ${t.title} | none clean | | | | | ${load()} |`,
      );
    }
  } finally {
    await stopAll();
    if (!opt.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`- run directory kept: ${dir}`);
  }
  console.log(
    "\n| target | highest clean calls/s | INVITE→200 p50 / p99 ms | proxy CPU s per 10k calls " +
      "| proxy cores | generator cores | load average (1/5/15 min) after |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of rows) console.log(r);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  stopAll().finally(() => process.exit(1));
});
