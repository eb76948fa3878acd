/**
 * The scanner case of the interop run (scripts/interop.ts): Debian's sipvicious
 * (`svmap`, `svwar`, `svcrack`) against vipless while SIPp calls run through it.
 *
 * The scans are bounded (extension and password ranges, --maximumtime, and a kill
 * after SCAN_BOUND_MS each) and aimed at vipless only, over UDP on loopback. Those that
 * take a domain or Request-URI name a "foreign" address: a UDP and TCP listener on
 * another loopback port that is no pair member. The case passes when vipless is still
 * running, the foreign listener received nothing (vipless relays only to the served
 * pair), and /metrics shows the scans (REGISTER, which the SIPp calls never send, and
 * more OPTIONS and INVITE than before).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { Runtime } from "../../src/runtime/index.ts";

const HOST = "127.0.0.1";
/** Longest a single scanner may run before it is killed. */
const SCAN_BOUND_MS = 40_000;

/** svmap's version line, or why sipvicious cannot run. */
export function sipviciousVersion(): { ok: true; version: string } | { ok: false; why: string } {
  const r = spawnSync("svmap", ["--version"], { encoding: "utf8" });
  if (r.error) return { ok: false, why: `svmap not found (${r.error.message})` };
  const m = /svmap v[\d.]+/.exec(`${r.stdout}${r.stderr}`);
  return m ? { ok: true, version: m[0] } : { ok: false, why: "svmap --version printed no version" };
}

export interface ScanOptions {
  rt: Runtime;
  proxyPort: number;
  httpPort: number;
  /** A free loopback port for the foreign listener. */
  foreignPort: number;
  /** Directory for the scanners' output (and their HOME, where they keep sessions). */
  out: string;
  /** Whether vipless is still running. */
  alive(): boolean;
}

export interface ScanOutcome {
  ok: boolean;
  detail: string;
}

/** The scans, in order: name, program, arguments (every one bound to loopback). */
function scans(o: ScanOptions): Array<[string, string, string[]]> {
  const local = ["-b", HOST, "-x", HOST];
  const target = `udp://${HOST}:${o.proxyPort}`;
  const foreign = `${HOST}:${o.foreignPort}`;
  return [
    ["svmap OPTIONS", "svmap", [`-p${o.proxyPort}`, ...local, HOST]],
    ["svmap INVITE", "svmap", [`-p${o.proxyPort}`, "-m", "INVITE", ...local, HOST]],
    ["svwar REGISTER 100-199", "svwar", [
      "-e100-199",
      "--domain",
      foreign,
      "--maximumtime=10",
      ...local,
      target,
    ]],
    ["svwar INVITE 100-119", "svwar", [
      "-e100-119",
      "-m",
      "INVITE",
      "--force",
      "--domain",
      foreign,
      "--maximumtime=10",
      ...local,
      target,
    ]],
    ["svcrack 100 1-100", "svcrack", [
      "-u100",
      "-r1-100",
      "--requesturi",
      `sip:100@${foreign}`,
      "--domain",
      foreign,
      "--maximumtime=10",
      ...local,
      target,
    ]],
  ];
}

/** Runs one scanner to its end (bounded); its exit code, or "killed" when it overran. */
function runScanner(name: string, cmd: string, args: string[], home: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: "ignore", env: { ...process.env, HOME: home } });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve(`${name}: killed after ${SCAN_BOUND_MS / 1000}s`);
    }, SCAN_BOUND_MS);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(`${name}: exit ${code}`);
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve(`${name}: ${e.message}`);
    });
  });
}

/** vipless_requests_total by method. */
async function requestsByMethod(httpPort: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const text = await (await fetch(`http://${HOST}:${httpPort}/metrics`)).text();
  for (const m of text.matchAll(/^vipless_requests_total\{method="([^"]+)"\} (\d+)/gm)) {
    out.set(m[1], Number(m[2]));
  }
  return out;
}

export async function runScans(o: ScanOptions): Promise<ScanOutcome> {
  const home = join(o.out, "sipvicious-home");
  mkdirSync(home, { recursive: true });
  let foreignGot = 0;
  const udp = await o.rt.bindUdp({ host: HOST, port: o.foreignPort }, {
    onMessage: () => void foreignGot++,
  });
  const tcp = await o.rt.listenTcp({ host: HOST, port: o.foreignPort }, {
    onData: () => void foreignGot++,
  });
  try {
    const before = await requestsByMethod(o.httpPort);
    const ran: string[] = [];
    for (const [name, cmd, args] of scans(o)) ran.push(await runScanner(name, cmd, args, home));
    // A relayed request could still be on its way (a retry after failover.timeout).
    await new Promise((r) => setTimeout(r, 2000));
    if (!o.alive()) {
      return { ok: false, detail: `vipless exited during the scans (${ran.join("; ")})` };
    }
    const after = await requestsByMethod(o.httpPort);
    const delta = (m: string) => (after.get(m) ?? 0) - (before.get(m) ?? 0);
    const seen = `REGISTER +${delta("REGISTER")}, OPTIONS +${delta("OPTIONS")}, ` +
      `INVITE +${delta("INVITE")}`;
    const problems: string[] = [];
    if (foreignGot > 0) problems.push(`the foreign listener received ${foreignGot} messages`);
    // svwar sends 100 REGISTERs and svcrack at least one; OPTIONS and INVITE come from svmap.
    if (delta("REGISTER") < 100) problems.push(`/metrics counted too few REGISTERs (${seen})`);
    if (delta("OPTIONS") < 1 || delta("INVITE") < 1) problems.push(`/metrics: ${seen}`);
    const detail = `scans ${ran.join(", ")}; metrics ${seen}; foreign listener got ${foreignGot}`;
    return problems.length === 0
      ? { ok: true, detail }
      : { ok: false, detail: `${problems.join("; ")} (${detail})` };
  } finally {
    udp.close();
    tcp.close();
  }
}
