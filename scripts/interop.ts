#!/usr/bin/env bun
/**
 * Interop run: SIPp endpoints (Debian package sip-tester) call through vipless.
 *
 *   bun scripts/interop.ts [--direct] [--runtime bun|deno] [--transport udp|tcp]
 *                          [--calls N] [--rate R]
 *                          [--only call|cancel|reject|failover|scan|large] [--keep] [--trace]
 *   deno run -A --unstable-net scripts/interop.ts ...   (same options)
 *
 * For each case and transport it starts SIPp UAS "servers" on loopback (the pair's
 * primary, and a backup), starts vipless with a temporary config whose pair is those
 * servers, runs a SIPp UAC against vipless, and judges the case from SIPp's exit code
 * and its final statistics (successful and failed calls). `--direct` leaves vipless out
 * and points the UAC at the UAS, to validate the scenarios themselves. The failover
 * case (UDP only, see FAILOVER below) kills the primary UAS in the middle of the run.
 * The scan case (UDP only) runs Debian's sipvicious scanners against vipless while the
 * calls run (tests/interop/sipvicious.ts); it is skipped, saying so, without svmap.
 * One line per
 * case, then "N passed, N failed"; the exit code is 1 when anything failed. Without
 * sipp on the PATH (or $SIPP) the run is skipped with exit code 0.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { detectRuntime, type Runtime } from "../src/runtime/index.ts";
import { TestUa } from "../tests/support/test-ua.ts";
import { sleep, within } from "./bench/proxy/children.ts";
import { runScans, sipviciousVersion } from "../tests/interop/sipvicious.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCENARIOS = join(ROOT, "tests", "interop", "sipp");
const HOST = "127.0.0.1";

type Transport = "udp" | "tcp";

interface Case {
  id: "call" | "cancel" | "reject" | "failover" | "scan" | "large";
  title: string;
  uac: string;
  /** The primary member's scenario. */
  uas: string;
  /** The backup member's scenario (default uas.xml). */
  backupUas?: string;
  /** Run the sipvicious scanners against vipless while the calls run. */
  scan?: boolean;
  calls: number;
  rate: number;
  /** SIGKILL the primary UAS this long after the UAC started (the failover case). */
  killPrimaryAfterMs?: number;
  /** Only these transports (default: every transport of the run). */
  transports?: Transport[];
  /** vipless's failover.timeout for this case (default 2s). */
  failoverTimeout?: string;
}

/**
 * The failover case: SIPp UAC (uac.xml) at 200 calls/s for 20 s (-m 4000 -r 200,
 * -d 100 ms call length, -recv_timeout 10 s, UDP) through vipless to two SIPp UAS
 * (primary and backup, both uas.xml); `kill -9` (SIGKILL) of the primary UAS after
 * 10 s. It passes when SIPp reports 4000 successful and zero failed calls.
 *
 * vipless runs with probe { interval: 500ms, timeout: 300ms, failures: 2 } (the same
 * as every interop case: the kill is noticed within about 1.3 s) and
 * failover.timeout 1s: an INVITE or BYE the dead primary never answers is retried on
 * the backup after 1 s, well within SIPp's 10 s receive timeout. BYEs of calls set
 * up on the primary reach the backup, which knows nothing of them; SIPp's UAS answers
 * such a BYE 200 (its default "unexpected BYE" behaviour), so the caller's calls end
 * cleanly, as they would with a real HA pair that shares call state.
 */
const FAILOVER = { calls: 4000, rate: 200, killAfterMs: 10_000, failoverTimeout: "1s" };

interface Outcome {
  ok: boolean;
  detail: string;
}

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  options: {
    direct: { type: "boolean", default: false },
    runtime: { type: "string", default: "bun" },
    transport: { type: "string" },
    calls: { type: "string", default: "300" },
    rate: { type: "string", default: "100" },
    only: { type: "string" },
    keep: { type: "boolean", default: false },
    trace: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (opts.help) {
  console.log(
    "usage: bun scripts/interop.ts [--direct] [--runtime bun|deno] [--transport udp|tcp]\n" +
      "                              [--calls N] [--rate R]\n" +
      "                              [--only call|cancel|reject|failover|scan|large] [--keep] [--trace]\n" +
      "  --direct   UAC straight to the UAS, without vipless (checks the scenarios)\n" +
      "  --keep     keep the temp dir with logs even when everything passed\n" +
      "  --trace    also write every SIP message SIPp sent and received (-trace_msg)",
  );
  process.exit(0);
}

const SIPP = process.env.SIPP ?? "sipp";

/** SIPp's version line, or why it cannot run. */
function sippVersion(): { ok: true; version: string } | { ok: false; why: string } {
  const r = spawnSync(SIPP, ["-v"], { encoding: "utf8" });
  if (r.error) return { ok: false, why: `${SIPP} not found (${r.error.message})` };
  const m = /SIPp v\d[\w.\-]*\w/.exec(`${r.stdout}${r.stderr}`);
  return m ? { ok: true, version: m[0] } : { ok: false, why: `${SIPP} -v printed no version` };
}

function positiveInt(text: string | undefined, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`interop: --${name} must be a positive integer, got ${text}`);
    process.exit(2);
  }
  return n;
}

/** A port free for both UDP and TCP on loopback, not handed out before in this run. */
const usedPorts = new Set<number>();
async function freePort(rt: Runtime): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const udp = await rt.bindUdp({ host: HOST, port: 0 }, { onMessage() {} });
    const port = udp.local.port;
    try {
      if (usedPorts.has(port)) continue;
      const tcp = await rt.listenTcp({ host: HOST, port }, { onData() {} });
      tcp.close();
      usedPorts.add(port);
      // Deno releases a closed UDP port only after its pending receive settles.
      await sleep(20);
      return port;
    } catch {
      // TCP port taken: try another.
    } finally {
      udp.close();
    }
  }
  throw new Error("no free port on loopback");
}

/**
 * Starts a SIPp UAS on a free port and waits until it answers OPTIONS. Retries on
 * another port when SIPp exits at once (a port taken in the meantime, or one the
 * runtime has not released yet).
 */
async function startUas(
  rt: Runtime,
  scenario: string,
  transport: Transport,
  out: string,
  label: string,
): Promise<{ child: Child; port: number } | { error: string }> {
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort(rt);
    const child = sippUas(scenario, transport, port, out, label);
    if (await waitSipReady(child, transport, port, 5000)) return { child, port };
    last = child.tail.split("\n").slice(-2).join(" ");
    await child.stop();
  }
  return { error: `SIPp UAS (${scenario}) did not answer OPTIONS: ${last}` };
}

/** A child process with the tail of its output kept for failure reports. */
class Child {
  readonly proc: ChildProcess;
  #tail = "";
  readonly exited: Promise<number | null>;
  constructor(readonly label: string, cmd: string, args: string[]) {
    this.proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
    const keep = (chunk: Buffer | string) => {
      this.#tail = (this.#tail + chunk.toString()).slice(-4000);
    };
    this.proc.stdout?.on("data", keep);
    this.proc.stderr?.on("data", keep);
    this.exited = new Promise((res) => {
      this.proc.on("exit", (code) => res(code));
      this.proc.on("error", (e) => {
        keep(`\n${e.message}`);
        res(null);
      });
    });
  }
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  get tail(): string {
    return this.#tail.trim();
  }
  /** SIGTERM, then SIGKILL if it has not exited within 2 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.proc.kill("SIGTERM");
    if ((await within(this.exited, 2000)) === undefined && this.running) {
      this.proc.kill("SIGKILL");
      await within(this.exited, 2000);
    }
  }
}

/** Waits until a SIP server answers OPTIONS with 200 (bounded by `ms`), or it exits. */
async function waitSipReady(
  child: Child,
  transport: Transport,
  port: number,
  ms: number,
): Promise<boolean> {
  const ua = await TestUa.start({ transport, name: "interop-probe" });
  try {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && child.running) {
      const r = await ua.options({ host: HOST, port }, { timeoutMs: 500 });
      if (r.status === 200) return true;
      await sleep(200);
    }
    return false;
  } finally {
    ua.stop();
  }
}

/** Waits until vipless says /ready (bounded by `ms`), or it exits. */
async function waitHttpReady(child: Child, httpPort: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && child.running) {
    try {
      const res = await fetch(`http://${HOST}:${httpPort}/ready`);
      await res.body?.cancel();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  return false;
}

/** The last row of a SIPp -trace_stat CSV, by column name. */
function lastStats(file: string): Record<string, string> | undefined {
  if (!existsSync(file)) return undefined;
  const rows = readFileSync(file, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
  if (rows.length < 2) return undefined;
  const head = rows[0].split(";");
  const last = rows[rows.length - 1].split(";");
  return Object.fromEntries(head.map((h, i) => [h, last[i] ?? ""]));
}

function vipConfig(
  transport: Transport,
  proxyPort: number,
  httpPort: number,
  primary: number,
  backup: number,
  failoverTimeout = "2s",
  failoverCase = false,
): string {
  // The failover case needs quick detection; the others only need a member that is
  // not declared down by a slow answer when the machine is busy (CI runs them beside
  // other suites on 2 cores), so their probes are lenient.
  const probe = failoverCase
    ? ["  interval: 500ms", "  timeout: 300ms", "  failures: 2"]
    : ["  interval: 1s", "  timeout: 800ms", "  failures: 3"];
  const t = transport === "tcp" ? ";transport=tcp" : "";
  return [
    `listen: [udp://${HOST}:${proxyPort}, tcp://${HOST}:${proxyPort}]`,
    `advertise: ${HOST}:${proxyPort}`,
    "serve: interop",
    "http:",
    `  listen: ${HOST}:${httpPort}`,
    "probe:",
    ...probe,
    "failover:",
    `  timeout: ${failoverTimeout}`,
    "pairs:",
    "  - name: interop",
    `    primary: sip:${HOST}:${primary}${t}`,
    `    backup: sip:${HOST}:${backup}${t}`,
    "log: { level: warning, format: text }",
    "",
  ].join("\n");
}

function vipCommand(runtime: string, config: string): [string, string[]] {
  const local = (name: string) => {
    const bin = join(ROOT, "node_modules", ".bin", name);
    return existsSync(bin) ? bin : name;
  };
  if (runtime === "deno") {
    return [local("deno"), ["run", "-A", "--unstable-net", "src/main.ts", "--config", config]];
  }
  return [local("bun"), ["src/main.ts", "--config", config]];
}

/** -trace_msg into the log dir when --trace was given. */
function traceArgs(out: string, label: string): string[] {
  return opts.trace ? ["-trace_msg", "-message_file", join(out, `${label}-messages.log`)] : [];
}

function sippUas(scenario: string, transport: Transport, port: number, out: string, label: string) {
  return new Child(label, SIPP, [
    "-sf",
    join(SCENARIOS, scenario),
    "-i",
    HOST,
    "-p",
    String(port),
    "-t",
    transport === "udp" ? "u1" : "t1",
    "-nostdin",
    "-trace_err",
    "-error_file",
    join(out, `${label}-errors.log`),
    ...traceArgs(out, label),
  ]);
}

async function runCase(
  rt: Runtime,
  c: Case,
  transport: Transport,
  out: string,
): Promise<Outcome> {
  const name = `${c.id}-${transport}`;
  const children: Child[] = [];
  try {
    const primary = await startUas(rt, c.uas, transport, out, `${name}-uas`);
    if ("error" in primary) return { ok: false, detail: primary.error };
    children.push(primary.child);
    const uasPort = primary.port;
    let target = uasPort;
    let httpPort = 0;
    if (!opts.direct) {
      const backupScenario = c.backupUas ?? "uas.xml";
      const backup = await startUas(rt, backupScenario, transport, out, `${name}-backup`);
      if ("error" in backup) return { ok: false, detail: `backup: ${backup.error}` };
      children.push(backup.child);
      const backupPort = backup.port;
      const proxyPort = await freePort(rt);
      httpPort = await freePort(rt);
      const config = join(out, `${name}-vipless.yaml`);
      writeFileSync(
        config,
        vipConfig(
          transport,
          proxyPort,
          httpPort,
          uasPort,
          backupPort,
          c.failoverTimeout,
          c.killPrimaryAfterMs !== undefined,
        ),
      );
      const [cmd, args] = vipCommand(opts.runtime ?? "bun", config);
      const vip = new Child(`${name}-vipless`, cmd, args);
      children.push(vip);
      if (!(await waitHttpReady(vip, httpPort, 15_000))) {
        return { ok: false, detail: `vipless not ready (${cmd} ${args.join(" ")}): ${vip.tail}` };
      }
      target = proxyPort;
    }

    const stats = join(out, `${name}-uac.csv`);
    const limit = Math.ceil(c.calls / c.rate) + 20;
    const uac = new Child(`${name}-uac`, SIPP, [
      `${HOST}:${target}`,
      "-sf",
      join(SCENARIOS, c.uac),
      "-i",
      HOST,
      "-p",
      String(await freePort(rt)),
      "-t",
      transport === "udp" ? "u1" : "t1",
      "-m",
      String(c.calls),
      "-r",
      String(c.rate),
      "-d",
      "100",
      "-recv_timeout",
      "10000",
      "-timeout",
      `${limit}s`,
      "-timeout_error",
      "-nostdin",
      "-trace_stat",
      "-stf",
      stats,
      "-fd",
      "1",
      "-trace_err",
      "-error_file",
      join(out, `${name}-uac-errors.log`),
      "-trace_screen",
      "-screen_file",
      join(out, `${name}-uac-screen.log`),
      ...traceArgs(out, `${name}-uac`),
    ]);
    children.push(uac);
    // The scans start once the calls are under way, and end before the last call.
    const vipChild = children.find((ch) => ch.label.endsWith("-vipless"));
    const scanning = c.scan && vipChild
      ? sleep(1000).then(async () =>
        runScans({
          rt,
          proxyPort: target,
          httpPort,
          foreignPort: await freePort(rt),
          out,
          alive: () => vipChild.running,
        })
      )
      : undefined;
    let killed = "";
    if (c.killPrimaryAfterMs !== undefined) {
      const primaryChild = children[0];
      if ((await within(uac.exited, c.killPrimaryAfterMs)) === undefined) {
        primaryChild.proc.kill("SIGKILL");
        killed = `, primary killed after ${c.killPrimaryAfterMs / 1000}s`;
      } else killed = ", UAC ended before the kill";
    }
    const code = await within(uac.exited, (limit + 15) * 1000);
    if (code === undefined) {
      return { ok: false, detail: `SIPp UAC still running after ${limit + 15}s` };
    }
    const s = lastStats(stats);
    const good = Number(s?.["SuccessfulCall(C)"] ?? NaN);
    const bad = Number(s?.["FailedCall(C)"] ?? NaN);
    const retrans = s?.["Retransmissions(C)"] ?? "?";
    let detail = `${c.calls} calls @${c.rate}/s: ${good} successful, ${bad} failed, ` +
      `${retrans} retransmissions, sipp exit ${code}${killed}`;
    // A failover run must also have switched: zero failures with no switch proves nothing.
    const vip = children.find((ch) => ch.label.endsWith("-vipless"));
    const switched = c.killPrimaryAfterMs === undefined || /switchover/.test(vip?.tail ?? "");
    const scan = scanning ? await scanning : undefined;
    const ok = code === 0 && good === c.calls && bad === 0 && switched && (scan?.ok ?? true);
    if (!switched) detail += ", but vipless logged no switchover";
    if (scan) detail += `; ${scan.detail}`;
    // Keep what vipless said (warnings and up: member down, switchovers) beside SIPp's logs.
    if (vip) writeFileSync(join(out, `${name}-vipless.log`), vip.tail + "\n");
    return { ok, detail: ok ? detail : `${detail}; see ${out}/${name}-*` };
  } catch (e) {
    return { ok: false, detail: `error: ${(e as Error).message}` };
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
}

async function main(): Promise<number> {
  const sipp = sippVersion();
  if (!sipp.ok) {
    console.log(`interop skipped: ${sipp.why}; install the Debian package sip-tester`);
    return 0;
  }
  if (opts.runtime !== "bun" && opts.runtime !== "deno") {
    console.error(`interop: --runtime is bun or deno, got ${opts.runtime}`);
    return 2;
  }
  const calls = positiveInt(opts.calls, "calls");
  const rate = positiveInt(opts.rate, "rate");
  const cases: Case[] = [
    { id: "call", title: "INVITE/ACK/BYE", uac: "uac.xml", uas: "uas.xml", calls, rate },
    {
      id: "cancel",
      title: "CANCEL after 180",
      uac: "uac-cancel.xml",
      uas: "uas-cancel.xml",
      calls: 20,
      rate: 20,
    },
    {
      id: "reject",
      title: "486 Busy Here",
      uac: "uac-486.xml",
      uas: "uas-486.xml",
      calls: 20,
      rate: 20,
    },
    {
      id: "failover",
      title: "primary killed",
      uac: "uac.xml",
      uas: "uas.xml",
      calls: FAILOVER.calls,
      rate: FAILOVER.rate,
      killPrimaryAfterMs: FAILOVER.killAfterMs,
      transports: ["udp"],
      failoverTimeout: FAILOVER.failoverTimeout,
    },
    {
      // The UAS listens on UDP only (-t u1): vipless's TCP attempt for the large
      // INVITE is refused, and it must retry over UDP (issue 14 item 4).
      id: "large",
      title: "1,500-byte INVITE",
      uac: "uac-large.xml",
      uas: "uas.xml",
      calls: 20,
      rate: 10,
      transports: ["udp"],
    },
    {
      id: "scan",
      title: "sipvicious scans",
      uac: "uac.xml",
      uas: "uas-scanned.xml",
      backupUas: "uas-scanned.xml",
      calls: 400,
      rate: 20,
      transports: ["udp"],
      scan: true,
    },
  ].filter((c) => opts.only === undefined || c.id === opts.only) as Case[];
  const transports: Transport[] = opts.transport === "udp" || opts.transport === "tcp"
    ? [opts.transport]
    : ["udp", "tcp"];

  const out = mkdtempSync(join(tmpdir(), "vipless-interop-"));
  const mode = opts.direct ? "direct (no proxy)" : `through vipless on ${opts.runtime}`;
  console.log(`interop: ${sipp.version}, ${mode}, logs in ${out}`);
  const rt = await detectRuntime();
  let passed = 0;
  let failed = 0;
  for (const transport of transports) {
    for (const c of cases) {
      if (c.transports && !c.transports.includes(transport)) continue;
      // Killing a member or scanning vipless is meaningless without vipless in front.
      if ((c.killPrimaryAfterMs !== undefined || c.scan) && opts.direct) continue;
      const scanner = c.scan ? sipviciousVersion() : undefined;
      if (scanner && !scanner.ok) {
        console.log(
          `SKIP  ${transport}  ${c.title.padEnd(17)} ${scanner.why}; apt-get install sipvicious`,
        );
        continue;
      }
      const t0 = Date.now();
      const r = await runCase(rt, c, transport, out);
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      console.log(
        `${r.ok ? "PASS" : "FAIL"}  ${transport}  ${c.title.padEnd(17)} ${r.detail} (${secs}s)`,
      );
      if (r.ok) passed++;
      else failed++;
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (failed === 0 && !opts.keep) rmSync(out, { recursive: true, force: true });
  return failed === 0 ? 0 : 1;
}

process.exit(await main());
