#!/usr/bin/env bun
/**
 * Whole-proxy benchmark: SIPp calls through vipless (compiled, Bun), vipless under Deno
 * and Kamailio as the equivalent proxy, on loopback, in front of a pair of SIPp UAS.
 *
 *   bun scripts/bench/proxy.ts [--only vipless,deno,kamailio] [--duration S]
 *                              [--max-rate R] [--start-rate R] [--quick]
 *   bun scripts/bench/proxy.ts --soak [--rate R] [--soak-duration S] [--only vipless|deno]
 *   bun scripts/bench/proxy.ts --failover [--rate R] [--only ...]
 *
 * Default: a rate search per proxy (start at 500 calls/s, double while clean, then
 * bisect 3 times; each step `--duration` s, 10 by default; clean = at most 0.1 % of the
 * calls failed and SIPp offered the full rate). The proxies take turns step by step,
 * so a change in the machine's background load touches all of them alike. Every step
 * starts fresh processes; every process is stopped at the end, on error and on Ctrl-C.
 * The result is a Markdown table: highest clean rate, ratio to Kamailio, INVITE->200
 * p50/p99 (SIPp -trace_rtt), proxy CPU seconds per 10,000 calls (/proc/PID/stat
 * utime+stime over the load, summed over Kamailio's processes), peak RSS (VmHWM,
 * summed over Kamailio's processes: that counts its shared memory once per process).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { installCleanup, stopAll } from "./proxy/children.ts";
import { runFailover } from "./proxy/failover.ts";
import { runStep, type StepResult } from "./proxy/measure.ts";
import { machineLines, resultTable, stepLine } from "./proxy/report.ts";
import { RateSearch } from "./proxy/search.ts";
import { runSoak } from "./proxy/soak.ts";
import { SIPP, sippVersion } from "./proxy/sipp.ts";
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
  (rate search)   --only LIST        vipless, vipless-w2, deno, kamailio (comma list; default all)
                  --duration S       seconds per step (10; --quick: 3)
                  --start-rate R     first rate tried (500 calls/s)
                  --max-rate R       never offer more (20000 calls/s)
                  --bisections N     bisection steps after the first failure (3; --quick: 1)
                  --budget S         stop searching after S seconds (540)
                  --quick            short smoke run
  --soak          RSS at --steady-rate (2000/s) for --steady-duration (30 s), then a soak
                  at half --rate for --soak-duration (600 s): RSS and live transactions
  --failover      at half --rate for --failover-duration (20 s), kill -9 the primary in
                  the middle: failed calls and time until new calls reach the backup
  common          --rate R (the highest clean rate, for --soak/--failover; searched if absent)
                  --kamailio-children N (4)  --max-transactions N (1000000)
                  --keep (keep logs)  --rebuild (bun build.ts first)`;

const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    only: { type: "string" },
    duration: { type: "string" },
    "start-rate": { type: "string", default: "500" },
    "max-rate": { type: "string", default: "20000" },
    bisections: { type: "string" },
    budget: { type: "string", default: "540" },
    quick: { type: "boolean", default: false },
    soak: { type: "boolean", default: false },
    "steady-rate": { type: "string", default: "2000" },
    "steady-duration": { type: "string", default: "30" },
    "soak-duration": { type: "string", default: "600" },
    failover: { type: "boolean", default: false },
    "failover-duration": { type: "string", default: "20" },
    rate: { type: "string" },
    "kamailio-children": { type: "string", default: "4" },
    "max-transactions": { type: "string", default: "1000000" },
    keep: { type: "boolean", default: false },
    rebuild: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

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

/** The targets asked for that can run here; the others are reported and left out. */
function chooseTargets(allowed: TargetId[]): Target[] {
  const asked = (opt.only ?? allowed.join(",")).split(",").map((s) => s.trim());
  const out: Target[] = [];
  for (const id of asked) {
    if (!(TARGET_IDS as string[]).includes(id)) {
      console.error(`bench: --only takes ${TARGET_IDS.join(", ")}; got ${id}`);
      process.exit(2);
    }
    const t = TARGETS[id as TargetId];
    if (!allowed.includes(t.id)) {
      console.log(`bench: ${t.title} is not part of this measurement; left out`);
      continue;
    }
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
  const budgetMs = num(opt.budget, "budget") * 1000;
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
        console.log(`ERROR  ${t.id.padEnd(8)} ${rate}/s: ${(e as Error).message}`);
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
  installCleanup();
  ensureBuilt();
  const settings: Settings = {
    failoverMs: 1000,
    maxTransactions: num(opt["max-transactions"], "max-transactions"),
    kamailioChildren: num(opt["kamailio-children"], "kamailio-children"),
    kamailioShmMiB: 1024,
    kamailioPkgMiB: 16,
  };
  const dir = mkdtempSync(join(tmpdir(), "vipless-bench-"));
  const command = `bun scripts/bench/proxy.ts ${process.argv.slice(2).join(" ")}`.trim();
  let ok = true;
  try {
    if (opt.soak || opt.failover) {
      const allowed: TargetId[] = opt.soak
        ? ["vipless", "vipless-w2", "deno"]
        : ["vipless", "vipless-w2", "deno", "kamailio"];
      const only = opt.only ?? (opt.soak ? "vipless" : "vipless,kamailio");
      opt.only = only;
      const targets = chooseTargets(allowed);
      if (targets.length === 0) return 1;
      console.log(machineLines(targets, command).join("\n"));
      const rate = await highestRate(targets, settings, dir);
      if (opt.soak) {
        await runSoak(targets, {
          steadyRate: num(opt["steady-rate"], "steady-rate"),
          steadySeconds: num(opt["steady-duration"], "steady-duration"),
          soakRate: Math.round(rate / 2),
          soakSeconds: num(opt["soak-duration"], "soak-duration"),
          settings,
          dir,
        });
      }
      if (opt.failover) {
        await runFailover(targets, {
          rate: Math.round(rate / 2),
          seconds: num(opt["failover-duration"], "failover-duration"),
          settings,
          dir,
        });
      }
      return 0;
    }
    const targets = chooseTargets(TARGET_IDS);
    if (targets.length === 0) {
      console.log("bench: nothing to measure");
      return 1;
    }
    const header = machineLines(targets, command);
    console.log(header.join("\n"));
    console.log(`bench: logs and SIPp files in ${dir}\n`);
    const { best, cut } = await searchRates(targets, settings, dir);
    console.log("\n" + resultTable(best, cut).join("\n"));
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
