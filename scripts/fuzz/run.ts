#!/usr/bin/env bun
/**
 * `npm run fuzz`: mutated SIP messages over UDP and TCP into the built vipless
 * (dist/vipless, `npm run build`) while SIPp places calls through it.
 *
 *   bun scripts/fuzz/run.ts [--count N] [--seed S] [--rate R] [--tcp-share F]
 *                           [--calls-per-second C] [--t1 DURATION] [--settle SECONDS]
 *                           [--rss-slack MIB] [--bundle] [--binary PATH]
 *                           [--answer-share F] [--load sipp|test-ua] [--log-level LEVEL]
 *                           [--max-delay DURATION] [--keep]
 *
 * The pair members answer every request; --answer-share (default 0.2) of their
 * answers to the fuzzer's own requests are mutated too, for vipless's response path.
 * Reports messages sent, crashes (vipless exiting), failed background calls, what
 * reached the pair members or came back from vipless malformed, and vipless_transactions, TCP connections, open
 * descriptors and RSS before and after (after = once the RFC timers ran out: polled
 * until back to the baseline, at most --settle seconds; RSS may end at most
 * --rss-slack MiB, default 256, above where it started, since a garbage-collected heap
 * does not shrink back). Seeded and reproducible: the seed is printed, and `--seed S`
 * with the same --tcp-share sends the same messages again (their timing differs).
 * Loopback only. Exit code 0 when nothing went wrong, 1 otherwise, 2 for bad options.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { DENO, ROOT } from "../../tests/support/vipless-process.ts";
import { installCleanup } from "../bench/proxy/children.ts";
import { sippVersion } from "../bench/proxy/sipp.ts";
import { sippCaller } from "./load-sipp.ts";
import { testUaCaller } from "./load-ua.ts";
import { reportLines } from "./report.ts";
import { runSession } from "./session.ts";

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  options: {
    count: { type: "string", default: "100000" },
    seed: { type: "string" },
    rate: { type: "string", default: "3000" },
    "tcp-share": { type: "string", default: "0.3" },
    "answer-share": { type: "string", default: "0.2" },
    "calls-per-second": { type: "string", default: "10" },
    t1: { type: "string", default: "500ms" },
    settle: { type: "string", default: "60" },
    "rss-slack": { type: "string", default: "256" },
    bundle: { type: "boolean", default: false },
    binary: { type: "string" },
    load: { type: "string", default: "sipp" },
    keep: { type: "boolean", default: false },
    "log-level": { type: "string", default: "error" },
    "max-delay": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (opts.help) {
  console.log(
    "usage: bun scripts/fuzz/run.ts [--count N] [--seed S] [--rate MSG_PER_S] [--tcp-share 0..1]\n" +
      "         [--calls-per-second C] [--t1 500ms] [--settle SECONDS] [--rss-slack MIB]\n" +
      "         [--answer-share 0..1] [--bundle] [--binary PATH] [--load sipp|test-ua]\n" +
      "         [--log-level LEVEL] [--max-delay DURATION] [--keep]\n" +
      "  --max-delay  vipless's overload.max_delay (0ms turns load shedding off; default its own)\n" +
      "  --bundle  fuzz dist/vipless.js under deno instead of the dist/vipless executable\n" +
      "  --binary  fuzz this executable (or, with --bundle, this bundle) instead\n" +
      "  --load    who places the background calls (default sipp)\n" +
      "  --keep    keep the directory with the config and logs even when the run passed",
  );
  process.exit(0);
}

function number(name: string, min: number, max: number, integer = true): number {
  const text = (opts as Record<string, unknown>)[name] as string;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    console.error(`fuzz: --${name} must be a number in ${min}..${max}, got ${text}`);
    process.exit(2);
  }
  return n;
}

const count = number("count", 1, 10_000_000);
const rate = number("rate", 1, 100_000);
const tcpShare = number("tcp-share", 0, 1, false);
const answerShare = number("answer-share", 0, 1, false);
const callsPerSecond = number("calls-per-second", 1, 500);
const settleSeconds = number("settle", 1, 600);
const rssSlackMiB = number("rss-slack", 0, 65_536);
if (opts.seed === undefined) opts.seed = String(Math.floor(Math.random() * 2 ** 32));
const seed = number("seed", 0, 2 ** 32 - 1);
for (const name of ["t1", "max-delay"] as const) {
  const v = opts[name];
  if (v !== undefined && !/^\d+(\.\d+)?(ms|s)$/.test(v)) {
    console.error(`fuzz: --${name} is a duration such as 500ms, got ${v}`);
    process.exit(2);
  }
}

const binary = opts.binary ?? join(ROOT, opts.bundle ? "dist/vipless.js" : "dist/vipless");
if (!existsSync(binary) && opts.binary === undefined) {
  console.log(`fuzz: ${binary} is missing; building it (npm run build)`);
  const r = spawnSync(process.execPath, ["build.ts"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) process.exit(1);
}
const command: [string, string[]] = opts.bundle
  ? [DENO, ["run", "-A", "--unstable-net", binary]]
  : [binary, []];

let loadKind = opts.load;
if (loadKind !== "sipp" && loadKind !== "test-ua") {
  console.error(`fuzz: --load is sipp or test-ua, got ${loadKind}`);
  process.exit(2);
}
if (loadKind === "sipp") {
  const v = spawnSync(process.env.SIPP ?? "sipp", ["-v"], { encoding: "utf8" });
  if (!sippVersion(`${v.stdout ?? ""}${v.stderr ?? ""}`)) {
    console.log("fuzz: sipp not found (apt-get install sip-tester); test UAs place the calls");
    loadKind = "test-ua";
  }
}

installCleanup();
const dir = mkdtempSync(join(tmpdir(), "vipless-fuzz-"));
console.log(
  `fuzz: seed ${seed}, ${count} messages at ${rate}/s (${Math.round(tcpShare * 100)}% TCP), ` +
    `${callsPerSecond} calls/s by ${loadKind}, vipless ${
      [command[0], ...command[1]].join(" ")
    }, sip.t1 ${opts.t1}; ` +
    `files in ${dir}`,
);
const rfc4475Dir = join(ROOT, "..", "shared", "testdata", "rfc4475");
const caller = loadKind === "sipp" ? sippCaller(dir) : await testUaCaller();
let lastLog = 0;
const report = await runSession({
  count,
  seed,
  rate,
  tcpShare,
  command,
  caller,
  callsPerSecond,
  t1: opts.t1!,
  settleBoundMs: settleSeconds * 1000,
  rssSlackKiB: rssSlackMiB * 1024,
  logLevel: opts["log-level"],
  maxDelay: opts["max-delay"],
  rfc4475Dir,
  mutateAnswers: { seed, share: answerShare, rfc4475Dir },
  dir,
  log(line) {
    // Progress every 10 s; everything else as it comes.
    if (line.startsWith("sent ") && !line.includes(" in ")) {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
    }
    console.log(`fuzz: ${line}`);
  },
});
for (const line of reportLines(report)) console.log(line);
const ok = report.problems.length === 0;
if (ok && !opts.keep) rmSync(dir, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
