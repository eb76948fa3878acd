#!/usr/bin/env bun
/**
 * Whole-proxy benchmark: SIPp calls through vipless (compiled, Bun), vipless under Deno
 * and Kamailio as the equivalent proxy, on loopback, in front of a pair of SIPp UAS.
 * vipless runs as a user runs it (`vipless-defaults`: the shipped defaults, only the
 * addresses given) and tuned (`vipless`: sip.max_transactions raised); every table
 * states each target's configuration. See USAGE below for the modes.
 *
 * Rate search (default): start at 500 calls/s, double while clean, then bisect 3 times;
 * each step `--duration` s, 10 by default; clean = at most 0.1 % of the calls failed
 * and SIPp offered the full rate. The proxies take turns step by step, so a change in
 * the machine's background load touches all of them alike. Every step starts fresh
 * processes; every process is stopped at the end, on error and on Ctrl-C. The result
 * is a Markdown table: highest clean rate, ratio to Kamailio, INVITE->200 p50/p99 (SIPp
 * -trace_rtt), INVITE retransmissions (-trace_counts), proxy CPU seconds per 10,000
 * calls (/proc/PID/stat utime+stime over the load, summed over Kamailio's processes),
 * peak RSS (VmHWM, summed over Kamailio's processes: that counts its shared memory once
 * per process).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { installCleanup, stopAll } from "./proxy/children.ts";
import { runFailover } from "./proxy/failover.ts";
import { runOverload } from "./proxy/overload.ts";
import { runStep, type StepResult } from "./proxy/measure.ts";
import { machineLines, resultTable, stepLine } from "./proxy/report.ts";
import { RateSearch } from "./proxy/search.ts";
import { runSoak } from "./proxy/soak.ts";
import { SIPP, sippVersion } from "./proxy/sipp.ts";
import { runSustain } from "./proxy/sustain.ts";
import { PROBE_PROFILES } from "./proxy/vipless-config.ts";
import {
  BUN,
  DIST_BIN,
  DIST_JS,
  ROOT,
  type Settings,
  type Target,
  TARGET_IDS,
  type TargetId,
  TARGETS,
} from "./proxy/targets.ts";

const USAGE = `usage: bun scripts/bench/proxy.ts [options]
  targets: vipless-defaults  dist/vipless, the shipped defaults (only addresses, pair, JSON log)
           vipless           dist/vipless, sip.max_transactions=--max-transactions, probe 1s/500ms/2
           vipless-w2        as vipless, workers: 2
           deno              dist/vipless.js under Deno, as vipless
           deno-defaults     dist/vipless.js under Deno, the shipped defaults
           kamailio          Kamailio as the equivalent proxy (scripts/bench/kamailio.cfg.ts)
  (rate search)   --only LIST        comma list (default: all but deno-defaults)
                  --duration S       seconds per step (10; --quick: 3)
                  --start-rate R     first rate tried (500 calls/s)
                  --max-rate R       never offer more (20000 calls/s)
                  --bisections N     bisection steps after the first failure (3; --quick: 1)
                  --budget S         stop searching after S seconds (135 per target)
                  --quick            short smoke run
  --sustain RATE  one run at RATE calls/s for --duration S (60) through each target in turn
                  (default --only vipless-defaults,kamailio): failed calls, INVITE
                  retransmissions, p50/p99, peak RSS, CPU per 10k calls, HA events, overload
                  rejections, UDP drops (/metrics, kernel RcvbufErrors), and every 5 s RSS,
                  live transactions, failures and retransmissions so far
  --soak          RSS at --steady-rate (2000/s) for --steady-duration (30 s), then a soak
                  at --soak-rate (half --rate) for --soak-duration (600 s): RSS, live
                  transactions, failed calls, HA events (default --only vipless-defaults)
  --failover      at --failover-rate (half --rate) for --failover-duration (20 s), kill -9
                  the primary in the middle: failed calls, HA events, switchover time from
                  the logged event (default --only vipless-defaults,kamailio)
  --failover-both as --failover, but both members are killed in the middle and restarted
                  --restart-after S (3) later: failed calls, HA events, and (vipless) the
                  time from a restarted member's first probe answer to the first call
                  answered again, against rise × interval
  --overload      2.5 × --rate for 10 s, then --rate / 2 for 30 s: completed % of the
                  overload phase's calls, refused early, failed at half load, HA events
                  (default --only vipless-defaults,kamailio)
  common          --rate R (the highest clean rate, for --soak/--failover; searched if absent)
                  --probe-profile subsecond  every vipless target probes 500ms/300ms/2
                  --kamailio-children N (4)  --max-transactions N (1000000; tuned targets)
                  --uac-sockets one|per-call  the caller's UDP socket: one (SIPp -t u1,
                  the default) or one per call (-t un), so that the kernel's SO_REUSEPORT
                  hashing spreads calls over vipless-w2's workers
                  --keep (keep logs)  --rebuild (bun build.ts first)
  environment     VIPLESS_BENCH_BIN, VIPLESS_BENCH_JS: measure another build than dist/;
                  KAMAILIO, SIPP: other binaries`;

const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: "string" },
    duration: { type: "string" },
    "start-rate": { type: "string", default: "500" },
    "max-rate": { type: "string", default: "20000" },
    bisections: { type: "string" },
    budget: { type: "string" },
    quick: { type: "boolean", default: false },
    sustain: { type: "string" },
    soak: { type: "boolean", default: false },
    "steady-rate": { type: "string", default: "2000" },
    "steady-duration": { type: "string", default: "30" },
    "soak-rate": { type: "string" },
    "soak-duration": { type: "string", default: "600" },
    failover: { type: "boolean", default: false },
    "failover-both": { type: "boolean", default: false },
    "restart-after": { type: "string", default: "3" },
    overload: { type: "boolean", default: false },
    "failover-rate": { type: "string" },
    "failover-duration": { type: "string", default: "20" },
    rate: { type: "string" },
    "probe-profile": { type: "string" },
    "uac-sockets": { type: "string", default: "one" },
    "kamailio-children": { type: "string", default: "4" },
    "max-transactions": { type: "string", default: "1000000" },
    keep: { type: "boolean", default: false },
    rebuild: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

/** The rate search's targets when --only is not given. */
const SEARCH_DEFAULT: TargetId[] = [
  "vipless-defaults",
  "vipless",
  "vipless-w2",
  "deno",
  "kamailio",
];

function num(text: string | undefined, name: string, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`bench: --${name} must be a positive number, got ${text}`);
    process.exit(2);
  }
  return n;
}

/** Builds dist/ when it is missing (or on --rebuild): the compiled binary is measured. */
function ensureBuilt(): void {
  if (!opt.rebuild && existsSync(DIST_BIN) && existsSync(DIST_JS)) return;
  console.log("bench: building dist/ (bun build.ts)");
  const r = spawnSync(BUN, ["build.ts"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("bun build.ts failed");
}

/** The targets asked for (--only, else `fallback`) that can run here; others are reported. */
function chooseTargets(fallback: TargetId[]): Target[] {
  const asked = (opt.only ?? fallback.join(",")).split(",").map((s) => s.trim());
  const out: Target[] = [];
  for (const id of asked) {
    if (!(TARGET_IDS as string[]).includes(id)) {
      console.error(`bench: --only takes ${TARGET_IDS.join(", ")}; got ${id}`);
      process.exit(2);
    }
    const t = TARGETS[id as TargetId];
    const why = t.unavailable();
    if (why) console.log(`bench: ${t.title} left out: ${why}`);
    else out.push(t);
  }
  return out;
}

interface SearchOutcome {
  best: Map<Target, StepResult | undefined>;
  cut: Set<Target>;
}

/** Rate search for every target, one step each in turn. */
async function searchRates(targets: Target[], s: Settings, dir: string): Promise<SearchOutcome> {
  const quick = opt.quick;
  const seconds = num(opt.duration, "duration", quick ? 3 : 10);
  const budgetMs = num(opt.budget, "budget", 135 * targets.length) * 1000;
  const searches = new Map(targets.map((t) => [
    t,
    new RateSearch({
      start: num(opt["start-rate"], "start-rate"),
      max: num(opt["max-rate"], "max-rate"),
      bisections: num(opt.bisections, "bisections", quick ? 1 : 3),
      granularity: 50,
    }),
  ]));
  const best = new Map<Target, StepResult | undefined>(targets.map((t) => [t, undefined]));
  const cut = new Set<Target>();
  const t0 = Date.now();
  for (let round = 0; round < 30; round++) {
    const pending = targets.filter((t) => searches.get(t)!.next !== undefined);
    if (pending.length === 0) break;
    if (Date.now() - t0 > budgetMs) {
      pending.forEach((t) => cut.add(t));
      console.log(`bench: time budget of ${budgetMs / 1000} s used up; stopping the search`);
      break;
    }
    for (const t of pending) {
      const search = searches.get(t)!;
      const rate = search.next!;
      let step: StepResult;
      try {
        step = await runStep(t, { rate, seconds, settings: s, dir });
      } catch (e) {
        console.log(`ERROR  ${t.id.padEnd(16)} ${rate}/s: ${(e as Error).message}`);
        search.record(rate, false);
        continue;
      }
      console.log(stepLine(step));
      search.record(rate, step.clean);
      if (step.clean && step.rate >= (best.get(t)?.rate ?? 0)) best.set(t, step);
    }
  }
  return { best, cut };
}

async function main(): Promise<number> {
  if (opt.help) {
    console.log(USAGE);
    return 0;
  }
  const sipp = sippVersion(spawnSync(SIPP, ["-v"], { encoding: "utf8" }).stdout ?? "");
  if (!sipp) {
    console.log(`bench: ${SIPP} not found; install the Debian package sip-tester`);
    return 1;
  }
  const profileName = opt["probe-profile"];
  const probe = profileName === undefined ? undefined : PROBE_PROFILES[profileName];
  if (profileName !== undefined && !probe) {
    console.error(
      `bench: --probe-profile takes ${Object.keys(PROBE_PROFILES).join(", ")}; got ${profileName}`,
    );
    return 2;
  }
  if (opt["uac-sockets"] !== "one" && opt["uac-sockets"] !== "per-call") {
    console.error(`bench: --uac-sockets takes one or per-call; got ${opt["uac-sockets"]}`);
    return 2;
  }
  const modes = [opt.soak, opt.failover, opt["failover-both"], opt.overload, opt.sustain];
  if (modes.filter((m) => m !== undefined && m !== false).length > 1) {
    console.error(
      "bench: --sustain, --soak, --failover, --failover-both and --overload are separate runs; give one",
    );
    return 2;
  }
  installCleanup();
  ensureBuilt();
  const settings: Settings = {
    failoverMs: 1000,
    maxTransactions: num(opt["max-transactions"], "max-transactions"),
    probe,
    kamailioChildren: num(opt["kamailio-children"], "kamailio-children"),
    uacPerCallSockets: opt["uac-sockets"] === "per-call",
    kamailioShmMiB: 1024,
    kamailioPkgMiB: 16,
  };
  const dir = mkdtempSync(join(tmpdir(), "vipless-bench-"));
  const command = `bun scripts/bench/proxy.ts ${process.argv.slice(2).join(" ")}`.trim();
  let ok = true;
  try {
    const fallback: TargetId[] = opt.soak
      ? ["vipless-defaults"]
      : opt.failover || opt["failover-both"] || opt.overload || opt.sustain !== undefined
      ? ["vipless-defaults", "kamailio"]
      : SEARCH_DEFAULT;
    const targets = chooseTargets(fallback);
    if (targets.length === 0) {
      console.log("bench: nothing to measure");
      return 1;
    }
    console.log(machineLines(targets, command, settings).join("\n"));
    console.log(`bench: logs and SIPp files in ${dir}\n`);
    if (opt.sustain !== undefined) {
      ok = await runSustain(targets, {
        rate: num(opt.sustain, "sustain"),
        seconds: num(opt.duration, "duration", opt.quick ? 10 : 60),
        settings,
        dir,
      });
      return ok ? 0 : 1;
    }
    if (opt.soak) {
      const soakRate = opt["soak-rate"] !== undefined
        ? num(opt["soak-rate"], "soak-rate")
        : Math.round((await highestRate(targets, settings, dir)) / 2);
      await runSoak(targets, {
        steadyRate: num(opt["steady-rate"], "steady-rate"),
        steadySeconds: num(opt["steady-duration"], "steady-duration"),
        soakRate,
        soakSeconds: num(opt["soak-duration"], "soak-duration"),
        settings,
        dir,
      });
      return 0;
    }
    if (opt.overload) {
      const rate = await highestRate(targets, settings, dir);
      ok = await runOverload(targets, { rate, settings, dir });
      return ok ? 0 : 1;
    }
    if (opt.failover || opt["failover-both"]) {
      const rate = opt["failover-rate"] !== undefined
        ? num(opt["failover-rate"], "failover-rate")
        : Math.round((await highestRate(targets, settings, dir)) / 2);
      await runFailover(targets, {
        rate,
        seconds: num(opt["failover-duration"], "failover-duration"),
        settings,
        dir,
        both: opt["failover-both"]
          ? { restartAfterS: num(opt["restart-after"], "restart-after") }
          : undefined,
      });
      return 0;
    }
    const { best, cut } = await searchRates(targets, settings, dir);
    console.log("\n" + resultTable(best, cut, settings).join("\n"));
    ok = [...best.values()].every((b) => b !== undefined);
    return ok ? 0 : 1;
  } catch (e) {
    ok = false;
    console.error(`bench: ${(e as Error).stack ?? e}`);
    return 1;
  } finally {
    await stopAll();
    if (ok && !opt.keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`bench: logs kept in ${dir}`);
  }
}

/** --rate, or the highest clean rate of the first target, searched now. */
async function highestRate(targets: Target[], s: Settings, dir: string): Promise<number> {
  if (opt.rate !== undefined) return num(opt.rate, "rate");
  console.log(`bench: no --rate given; searching the highest clean rate of ${targets[0].title}`);
  const { best } = await searchRates([targets[0]], s, dir);
  const r = best.get(targets[0])?.rate;
  if (r === undefined) throw new Error("no clean rate found; give --rate");
  console.log(`bench: highest clean rate ${r} calls/s`);
  return r;
}

process.exit(await main());
