/**
 * The proxies under test: compiled vipless (Bun inside), vipless under Deno, and
 * Kamailio configured as the equivalent proxy (scripts/bench/kamailio.cfg.ts). Each
 * one is started fresh for a measurement on loopback ports, in front of the same pair.
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { dispatcherList, kamailioCfg } from "../kamailio.cfg.ts";
import { Child, sleep } from "./children.ts";
import { processTree } from "./procfs.ts";
import { HOST, waitSip } from "./sipp.ts";

export type TargetId = "vipless" | "vipless-w2" | "deno" | "kamailio";
export const TARGET_IDS: TargetId[] = ["vipless", "vipless-w2", "deno", "kamailio"];

export const ROOT = resolve(import.meta.dirname ?? ".", "..", "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
export const BUN = join(ROOT, "node_modules", ".bin", "bun");

export interface Ports {
  sip: number;
  http: number;
  primary: number;
  backup: number;
}

export interface Settings {
  /** No response this long: the request is retried on the other member. */
  failoverMs: number;
  maxTransactions: number;
  kamailioChildren: number;
  kamailioShmMiB: number;
  kamailioPkgMiB: number;
}

export interface RunningProxy {
  child: Child;
  /** The proxy's processes now (Kamailio: the main process and its workers). */
  pids(): number[];
  /** vipless /metrics as name{labels} -> value; undefined for Kamailio. */
  metrics?(): Promise<Map<string, number>>;
}

export interface Target {
  id: TargetId;
  title: string;
  /** Why it cannot run on this machine, or undefined. */
  unavailable(): string | undefined;
  /** The version string for the report. */
  version(): string;
  start(ports: Ports, dir: string, s: Settings): Promise<RunningProxy>;
}

function viplessYaml(p: Ports, s: Settings, workers = 1): string {
  return [
    `workers: ${workers}`,
    `listen: [udp://${HOST}:${p.sip}]`,
    `advertise: ${HOST}:${p.sip}`,
    "serve: bench",
    `http: { listen: "${HOST}:${p.http}", token_env: null }`,
    "probe: { interval: 1s, timeout: 500ms, failures: 2, force_interval: 500ms }",
    `failover: { timeout: ${s.failoverMs}ms }`,
    // Transactions linger up to 64*T1 = 32 s after a call (RFC 6026 Timer L/M, Timer J):
    // the bound must exceed rate x 32 s x ~3, as Kamailio gets enough shared memory.
    `sip: { max_transactions: ${s.maxTransactions} }`,
    "pairs:",
    "  - name: bench",
    `    primary: sip:${HOST}:${p.primary}`,
    `    backup: sip:${HOST}:${p.backup}`,
    "log: { level: warning, format: json }",
    "",
  ].join("\n");
}

async function viplessMetrics(httpPort: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const res = await fetch(`http://${HOST}:${httpPort}/metrics`);
  for (const line of (await res.text()).split("\n")) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

/** Waits for vipless's /ready (both members probed up); false after `ms`. */
async function waitReady(child: Child, httpPort: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && child.running) {
    try {
      const res = await fetch(`http://${HOST}:${httpPort}/ready`);
      await res.body?.cancel();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return false;
}

function viplessTarget(
  id: "vipless" | "vipless-w2" | "deno",
  title: string,
  command: (config: string) => [string, string[]],
  unavailable: () => string | undefined,
  version: () => string,
  workers = 1,
): Target {
  return {
    id,
    title,
    unavailable,
    version,
    async start(p, dir, s) {
      const config = join(dir, `${id}-${p.sip}.yaml`);
      writeFileSync(config, viplessYaml(p, s, workers));
      const [cmd, args] = command(config);
      const child = new Child(`${id}-${p.sip}`, cmd, args, dir);
      if (!(await waitReady(child, p.http, 20_000))) {
        await child.stop();
        throw new Error(`${title} not ready (${cmd} ${args.join(" ")}): ${child.tail}`);
      }
      return {
        child,
        pids: () => processTree(child.pid),
        metrics: () => viplessMetrics(p.http),
      };
    },
  };
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

export const DIST_BIN = join(ROOT, "dist", "vipless");
export const DIST_JS = join(ROOT, "dist", "vipless.js");

const viplessBun = viplessTarget(
  "vipless",
  "vipless (dist/vipless, Bun)",
  (config) => [DIST_BIN, ["--config", config]],
  () => existsSync(DIST_BIN) ? undefined : "dist/vipless missing (bun build.ts)",
  () => `bun ${firstLine(BUN, ["--version"])}`,
);

/** The same binary with two worker processes sharing the SIP port (`workers: 2`). */
const viplessBunWorkers = viplessTarget(
  "vipless-w2",
  "vipless (dist/vipless, Bun, workers: 2)",
  (config) => [DIST_BIN, ["--config", config]],
  () => existsSync(DIST_BIN) ? undefined : "dist/vipless missing (bun build.ts)",
  () => `bun ${firstLine(BUN, ["--version"])}`,
  2,
);

const viplessDeno = viplessTarget(
  "deno",
  "vipless (dist/vipless.js, Deno)",
  (config) => [DENO, ["run", "-A", "--unstable-net", DIST_JS, "--config", config]],
  () => existsSync(DENO) ? undefined : `${DENO} missing (npm install)`,
  () => firstLine(DENO, ["--version"]),
);

const KAMAILIO = process.env.KAMAILIO ?? "kamailio";

/** Kamailio's module directory from `kamailio -I`, or the Debian default. */
function kamailioModules(): string {
  const r = spawnSync(KAMAILIO, ["-I"], { encoding: "utf8" });
  const m = /Default paths to modules:\s*(\S+)/.exec(`${r.stdout ?? ""}`);
  return m?.[1] ?? "/usr/lib/x86_64-linux-gnu/kamailio/modules";
}

const kamailio: Target = {
  id: "kamailio",
  title: "Kamailio (tm, rr, dispatcher alg 8)",
  unavailable() {
    const r = spawnSync(KAMAILIO, ["-v"], { encoding: "utf8" });
    if (r.error) {
      return `${KAMAILIO} not found (Debian package kamailio; or set $KAMAILIO)`;
    }
    const mods = kamailioModules();
    for (const m of ["tm", "rr", "sl", "dispatcher", "maxfwd", "textops", "siputils"]) {
      if (!existsSync(join(mods, `${m}.so`))) return `kamailio module ${m}.so not in ${mods}`;
    }
    return undefined;
  },
  version: () => firstLine(KAMAILIO, ["-v"]).replace(/^version:\s*/, ""),
  async start(p, dir, s) {
    const opts = {
      port: p.sip,
      primaryPort: p.primary,
      backupPort: p.backup,
      dispatcherList: join(dir, `kamailio-${p.sip}.list`),
      modulePath: kamailioModules(),
      failoverTimeoutMs: s.failoverMs,
      host: HOST,
    };
    const cfg = join(dir, `kamailio-${p.sip}.cfg`);
    writeFileSync(opts.dispatcherList, dispatcherList(opts));
    writeFileSync(cfg, kamailioCfg(opts));
    const child = new Child(`kamailio-${p.sip}`, KAMAILIO, [
      "-DD",
      "-E",
      "-f",
      cfg,
      "-m",
      String(s.kamailioShmMiB),
      "-M",
      String(s.kamailioPkgMiB),
      "-n",
      String(s.kamailioChildren),
      "-Y",
      dir,
      "-w",
      dir,
    ], dir);
    if (!(await waitSip(p.sip, 10_000, child))) {
      await child.stop();
      throw new Error(`kamailio did not answer OPTIONS on ${p.sip}: ${child.tail}`);
    }
    return { child, pids: () => processTree(child.pid) };
  },
};

export const TARGETS: Record<TargetId, Target> = {
  vipless: viplessBun,
  "vipless-w2": viplessBunWorkers,
  deno: viplessDeno,
  kamailio,
};
