/**
 * Profiles of vipless under SIPp load: where the CPU goes and where the loop stalls.
 *
 *   flock /tmp/load.lock npx bun scripts/bench/profile.ts --runtime bun --rate 3000 --duration 30
 *
 * Starts two SIPp UAS (the pair), dist/vipless.js under the chosen runtime with the
 * bench's `vipless-defaults` configuration (the shipped defaults, only the addresses; add
 * `--probe-profile subsecond` for the 500ms/300ms/2 probes) and a SIPp UAC at --rate
 * calls/s for --duration s (INVITE/ACK/BYE, the bench's scenario). The runtime runs
 * with its CPU profiler (`bun --cpu-prof`, `deno run --cpu-prof-dir`) and its GC log
 * (BUN_JSC_logGC=1; Deno `--v8-flags=--trace-gc`). Prints, and writes to
 * <out>/summary-<runtime>-<rate>.md:
 *   - SIPp: failed calls, INVITE retransmissions, INVITE->200 p50/p99; proxy CPU s per
 *     10k calls; the load average at the start;
 *   - top functions by self time (% of busy samples) and self time by source module
 *     (from the bundle's `// src/...` marks), "(garbage collector)" and "(program)";
 *   - the longest busy stretches of the profile (no idle sample in between: a loop turn
 *     holding the thread) and what ran in them;
 *   - GC pauses during the load: count, total, longest, by kind;
 *   - the loop-lag histogram (vipless_event_loop_lag_seconds) accumulated during the load.
 * The profile (.cpuprofile, for DevTools or speedscope) and the proxy's output are kept
 * in <out>. The profiler and the GC log cost CPU themselves: compare rates with
 * `--no-cpu-prof --no-gc-log` (then only the SIPp figures and the lag histogram), and
 * only profiles taken the same way with each other.
 *
 * Options: --runtime bun|deno|bin (bun; bin: the compiled dist/vipless, no profiler)  --rate R (2000)  --duration S (30, at most 60)
 *   --out DIR (a new /tmp/vipless-profile-*)  --probe-profile subsecond  --no-cpu-prof
 *   --no-gc-log  --smol (Bun's smaller heap, GC more often)  --top N (25)
 * Build dist/ first (`npx bun build.ts`); $VIPLESS_BENCH_JS profiles another bundle.
 * One load at a time on a shared machine: always under `flock /tmp/load.lock`.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { Child, installCleanup, sleep, within } from "./proxy/children.ts";
import { CALL_MS, ports } from "./proxy/measure.ts";
import { cpuSeconds } from "./proxy/procfs.ts";
import { HOST, percentile, startUac, startUas } from "./proxy/sipp.ts";
import { BUN, DIST_BIN, DIST_JS, ROOT } from "./proxy/targets.ts";
import { PROBE_PROFILES, type Settings, viplessYaml } from "./proxy/vipless-config.ts";
import { freePort } from "../../tests/support/vipless-process.ts";
import {
  bucketDelta,
  bundleModules,
  type CpuProfile,
  GcLog,
  gcTotals,
  histogramBuckets,
  summarize,
  type ThreadCpu,
  threadCpu,
  threadDelta,
} from "./profile-summary.ts";

const DENO = join(ROOT, "node_modules", ".bin", "deno");

interface Options {
  runtime: "bun" | "bin" | "deno";
  rate: number;
  seconds: number;
  out: string;
  probe?: string;
  cpuProf: boolean;
  gcLog: boolean;
  smol: boolean;
  top: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    runtime: "bun",
    rate: 2000,
    seconds: 30,
    out: "",
    cpuProf: true,
    gcLog: true,
    smol: false,
    top: 25,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = () => argv[++i] ?? "";
    if (a === "--runtime") {
      const r = v();
      o.runtime = r === "deno" || r === "bin" ? r : "bun";
    } else if (a === "--rate") o.rate = Number(v());
    else if (a === "--duration") o.seconds = Math.min(60, Number(v()));
    else if (a === "--out") o.out = v();
    else if (a === "--probe-profile") o.probe = v();
    else if (a === "--no-cpu-prof") o.cpuProf = false;
    else if (a === "--no-gc-log") o.gcLog = false;
    else if (a === "--smol") o.smol = true;
    else if (a === "--top") o.top = Number(v());
    else {
      console.error(`profile: unknown option ${a} (see the comment at the top of the file)`);
      process.exit(2);
    }
  }
  if (!(o.rate > 0) || !(o.seconds > 0)) {
    console.error("profile: --rate and --duration must be positive numbers");
    process.exit(2);
  }
  if (o.runtime === "bin") o.cpuProf = false;
  o.out ||= mkdtempSync(join(tmpdir(), "vipless-profile-"));
  mkdirSync(o.out, { recursive: true });
  return o;
}

function proxyCommand(o: Options, config: string): [string, string[], Record<string, string>] {
  if (o.runtime === "bin") {
    // The compiled binary takes no runtime flags: no CPU profile, GC log by environment.
    return [DIST_BIN, ["--config", config], o.gcLog ? { BUN_JSC_logGC: "1" } : {}];
  }
  if (o.runtime === "bun") {
    const args = o.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${o.out}`] : [];
    if (o.smol) args.push("--smol");
    return [BUN, [...args, DIST_JS, "--config", config], o.gcLog ? { BUN_JSC_logGC: "1" } : {}];
  }
  const args = ["run", "-A", "--unstable-net"];
  if (o.cpuProf) args.push(`--cpu-prof-dir=${o.out}`);
  if (o.gcLog) args.push("--v8-flags=--trace-gc");
  return [DENO, [...args, DIST_JS, "--config", config], {}];
}

async function metricsText(port: number): Promise<string> {
  try {
    return await (await fetch(`http://${HOST}:${port}/metrics`)).text();
  } catch {
    return "";
  }
}

/** /ready answers 200 and both members are up (vipless_member_up 1 twice); false after ms. */
async function waitReady(child: Child, port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && child.running) {
    const up = [...(await metricsText(port)).matchAll(/^vipless_member_up\{[^}]*\} 1$/gm)];
    if (up.length >= 2) return true;
    await sleep(100);
  }
  return false;
}

/** Every thread of `pid` now, by thread id. */
function threads(pid: number): Map<number, ThreadCpu> {
  const out = new Map<number, ThreadCpu>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const at = `/proc/${pid}/task/${tid}`;
        let sched = "";
        try {
          sched = readFileSync(`${at}/schedstat`, "utf8");
        } catch {
          // no schedstats in this kernel
        }
        out.set(Number(tid), threadCpu(readFileSync(`${at}/stat`, "utf8"), sched));
      } catch {
        // the thread ended
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

const f = (n: number, d = 1) => Number.isFinite(n) ? n.toFixed(d) : "–";

async function main(): Promise<void> {
  installCleanup();
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(DIST_JS)) throw new Error(`${DIST_JS} missing: npx bun build.ts`);
  const settings: Settings = {
    failoverMs: 0,
    maxTransactions: 0,
    probe: o.probe ? PROBE_PROFILES[o.probe] : undefined,
    kamailioChildren: 0,
    kamailioShmMiB: 0,
    kamailioPkgMiB: 0,
  };
  const p = await ports();
  const tag = `${o.runtime}-${o.rate}`;
  const config = join(o.out, `vipless-${tag}.yaml`);
  writeFileSync(config, viplessYaml(p, settings, { defaults: true, workers: 1 }));
  const load = loadavg().map((x) => x.toFixed(2)).join(", ");
  const started: Child[] = [];
  const gc = new GcLog();
  let loading = false;
  try {
    started.push(await startUas(p.primary, `${tag}-primary`, o.out));
    started.push(await startUas(p.backup, `${tag}-backup`, o.out));
    const [cmd, args, env] = proxyCommand(o, config);
    Object.assign(process.env, env);
    const spawnedAt = Date.now();
    const proxy = new Child(`${tag}-proxy`, cmd, args, o.out);
    for (const k of Object.keys(env)) delete process.env[k];
    started.push(proxy);
    proxy.onLine((l) => loading && gc.line(l));
    if (!(await waitReady(proxy, p.http, 20_000))) {
      throw new Error(`vipless not ready: ${proxy.tail.slice(-2000)}`);
    }
    const lag0 = histogramBuckets(await metricsText(p.http), "vipless_event_loop_lag_seconds");
    const cpu0 = cpuSeconds([proxy.pid]);
    const threads0 = threads(proxy.pid);
    loading = true;
    const loadFrom = Date.now();
    const calls = Math.round(o.rate * o.seconds);
    const uac = startUac({
      target: p.sip,
      localPort: await freePort(),
      rate: o.rate,
      calls,
      callMs: CALL_MS,
      dir: o.out,
      label: `${tag}-uac`,
    });
    started.push(uac.child);
    const r = await uac.finish();
    loading = false;
    const loadTo = Date.now();
    const cpu = cpuSeconds([proxy.pid]) - cpu0;
    const perThread = threadDelta(threads0, threads(proxy.pid));
    const after = await metricsText(p.http);
    const lag = bucketDelta(lag0, histogramBuckets(after, "vipless_event_loop_lag_seconds"));
    // A second SIGTERM exits at once (no drain): the profiler writes its file at exit.
    proxy.signal("SIGTERM");
    await sleep(200);
    proxy.signal("SIGTERM");
    await within(proxy.exited, 15_000);

    const sorted = r.rtt.map((s) => s.ms).sort((a, b) => a - b);
    const out: string[] = [
      `# vipless under ${o.runtime} at ${o.rate} calls/s for ${o.seconds} s`,
      "",
      `configuration: vipless-defaults (shipped defaults, addresses only${
        settings.probe ? `, ${settings.probe.name} probes` : ""
      }); profiler ${o.cpuProf ? "on" : "off"}, GC log ${o.gcLog ? "on" : "off"}${
        o.smol ? ", --smol" : ""
      }; load average at start ${load}`,
      "",
      `SIPp: ${r.failed} of ${calls} failed, ${r.inviteRetransmissions} INVITE retransmissions, ` +
      `INVITE→200 p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms; ` +
      `proxy CPU ${f(cpu, 2)} s (${f((cpu / calls) * 10_000, 2)} s per 10k calls)`,
    ];
    out.push(
      "",
      "proxy CPU by thread during the load (digits in names folded; run queue: runnable",
      "but waiting for a core, e.g. behind SIPp):",
      "",
      "| thread | user s | system s | run queue s |",
      "| --- | ---: | ---: | ---: |",
      ...perThread.filter((x) => x.user + x.system > 0).map((x) =>
        `| ${x.name} | ${f(x.user, 2)} | ${f(x.system, 2)} | ${f(x.runQueue, 2)} |`
      ),
    );
    out.push("", "loop lag during the load (vipless_event_loop_lag_seconds, 20 ms timer):", "");
    out.push("| lag ≤ s | samples |", "| ---: | ---: |");
    for (const b of lag) if (b.count > 0) out.push(`| ${b.le} | ${b.count} |`);
    const t = gcTotals(gc.pauses);
    out.push(
      "",
      `GC pauses during the load: ${t.count}, ${f(t.ms)} ms in all ` +
        `(${f((100 * t.ms) / (o.seconds * 1000), 2)} % of the wall time), longest ${
          f(t.max, 2)
        } ms`,
    );
    for (const [k, v] of Object.entries(t.byKind)) {
      out.push(`- ${k}: ${v.count}, ${f(v.ms)} ms, longest ${f(v.max, 2)} ms`);
    }
    const prof = readdirSync(o.out).find((n) => n.endsWith(".cpuprofile"));
    if (prof) {
      const modOf = bundleModules(readFileSync(DIST_JS, "utf8"), basename(DIST_JS));
      const cp = JSON.parse(readFileSync(join(o.out, prof), "utf8")) as CpuProfile;
      const s = summarize(cp, modOf, [loadFrom - spawnedAt, loadTo - spawnedAt], o.top);
      const pct = (n: number) => f((100 * n) / Math.max(1, s.busySamples));
      out.push(
        "",
        `CPU profile ${prof}, the load's ${f((loadTo - loadFrom) / 1000)} s only: ${s.samples} ` +
          `samples, ${s.busySamples} not idle${
            s.hasIdle ? "" : " (JSC samples only while JS runs)"
          }; ` +
          `(garbage collector) ${pct(s.gcSamples)} %, (program) ${
            pct(s.programSamples)
          } % of those`,
        "",
        "| samples | % busy | function (module:line in the bundle) |",
        "| ---: | ---: | --- |",
        ...s.top.map((x) => `| ${x.samples} | ${f(x.share)} | ${x.key} |`),
        "",
        "| samples | % busy | module |",
        "| ---: | ---: | --- |",
        ...s.byModule.map((x) => `| ${x.samples} | ${f(x.share)} | ${x.key} |`),
      );
      if (s.hasIdle) {
        out.push(
          "",
          "longest busy stretches (no idle sample between; what ran most in each):",
          ...s.longestBusy.map((b) =>
            `- ${f(b.ms)} ms at ${f(b.atMs / 1000, 2)} s: ${b.top.join("; ")}`
          ),
        );
      }
    } else if (o.cpuProf) {
      out.push("", `no .cpuprofile in ${o.out} (the proxy did not exit cleanly?)`);
    }
    const text = out.join("\n") + "\n";
    writeFileSync(join(o.out, `summary-${tag}.md`), text);
    console.log(text + `\nfiles: ${o.out}`);
  } finally {
    for (const c of started.reverse()) await c.stop();
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(`profile: ${(e as Error).message}`);
  process.exit(1);
});
