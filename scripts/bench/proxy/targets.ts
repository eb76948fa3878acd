/**
 * The proxies under test: compiled vipless (Bun inside), vipless under Deno, each with
 * the shipped defaults (what a user runs) and tuned, and Kamailio configured as the
 * equivalent proxy (scripts/bench/kamailio.cfg.ts). Each one is started fresh for a
 * measurement on loopback ports, in front of the same pair.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { dispatcherList, kamailioCfg } from "../kamailio.cfg.ts";
import {
  firstLine,
  KAMAILIO,
  kamailioModules,
  kamailioUnavailable,
  kamailioVersion,
} from "../kamailio-bin.ts";
import { Child, sleep } from "./children.ts";
import { EventLog, kamailioEvent, viplessEvent } from "./ha-events.ts";
import { processTree } from "./procfs.ts";
import { HOST, waitSip } from "./sipp.ts";
import {
  type Ports,
  type Settings,
  type Variant,
  viplessConfigText,
  viplessYaml,
} from "./vipless-config.ts";

export type TargetId =
  | "vipless-defaults"
  | "vipless"
  | "vipless-w2"
  | "deno"
  | "deno-defaults"
  | "kamailio";
export const TARGET_IDS: TargetId[] = [
  "vipless-defaults",
  "vipless",
  "vipless-w2",
  "deno",
  "deno-defaults",
  "kamailio",
];

export const ROOT = resolve(import.meta.dirname ?? ".", "..", "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
export const BUN = join(ROOT, "node_modules", ".bin", "bun");

export type { Ports, Settings };

export interface RunningProxy {
  child: Child;
  /** HA events from the proxy's log, collected from its start. */
  events: EventLog;
  /** The proxy's processes now (Kamailio: the main process and its workers). */
  pids(): number[];
  /** vipless /metrics as name{labels} -> value; undefined for Kamailio. */
  metrics?(): Promise<Map<string, number>>;
}

export interface Target {
  id: TargetId;
  title: string;
  /** What it overrides or how it is set up, for every table ("defaults", keys set). */
  config(s: Settings): string;
  /** Why it cannot run on this machine, or undefined. */
  unavailable(): string | undefined;
  /** The version string for the report. */
  version(): string;
  start(ports: Ports, dir: string, s: Settings): Promise<RunningProxy>;
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

/**
 * Waits for vipless's /ready and for both members' member-up events from every worker
 * (each probes on its own); false after `ms`. /ready only says the pair is in service,
 * which one member is enough for: a load started then would see the other member come
 * up (and a switchover) in the middle.
 */
async function waitReady(
  child: Child,
  events: EventLog,
  p: Ports,
  workers: number,
  ms: number,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  const up = (port: number) =>
    events.events.filter((e) => e.type === "member-up" && e.member?.endsWith(`:${port}`))
      .length >= workers;
  while (Date.now() < deadline && child.running) {
    try {
      const res = await fetch(`http://${HOST}:${p.http}/ready`);
      await res.body?.cancel();
      if (res.status === 200 && up(p.primary) && up(p.backup)) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return false;
}

function viplessTarget(
  id: Exclude<TargetId, "kamailio">,
  title: string,
  command: (config: string) => [string, string[]],
  unavailable: () => string | undefined,
  version: () => string,
  variant: Variant,
): Target {
  return {
    id,
    title,
    config: (s) => viplessConfigText(s, variant),
    unavailable,
    version,
    async start(p, dir, s) {
      const config = join(dir, `${id}-${p.sip}.yaml`);
      writeFileSync(config, viplessYaml(p, s, variant));
      const [cmd, args] = command(config);
      const child = new Child(`${id}-${p.sip}`, cmd, args, dir);
      const events = new EventLog(child, viplessEvent);
      if (!(await waitReady(child, events, p, variant.workers, 20_000))) {
        await child.stop();
        throw new Error(`${title} not ready (${cmd} ${args.join(" ")}): ${child.tail}`);
      }
      return {
        child,
        events,
        pids: () => processTree(child.pid),
        metrics: () => viplessMetrics(p.http),
      };
    },
  };
}

// $VIPLESS_BENCH_BIN / $VIPLESS_BENCH_JS measure another build (A/B against dist/).
export const DIST_BIN = process.env.VIPLESS_BENCH_BIN ?? join(ROOT, "dist", "vipless");
export const DIST_JS = process.env.VIPLESS_BENCH_JS ?? join(ROOT, "dist", "vipless.js");

const hasBin = () => existsSync(DIST_BIN) ? undefined : "dist/vipless missing (bun build.ts)";
const hasDeno = () => existsSync(DENO) ? undefined : `${DENO} missing (npm install)`;
const bunVersion = () => `bun ${firstLine(BUN, ["--version"])}`;
const denoVersion = () => firstLine(DENO, ["--version"]);
const binCommand = (config: string): [string, string[]] => [DIST_BIN, ["--config", config]];
const denoCommand = (config: string): [string, string[]] => [
  DENO,
  ["run", "-A", "--unstable-net", DIST_JS, "--config", config],
];
const TUNED: Variant = { defaults: false, workers: 1 };
const DEFAULTS: Variant = { defaults: true, workers: 1 };

/** What a user runs: the shipped defaults, only the addresses given. */
const viplessDefaults = viplessTarget(
  "vipless-defaults",
  "vipless (dist/vipless, Bun, defaults)",
  binCommand,
  hasBin,
  bunVersion,
  DEFAULTS,
);

const viplessBun = viplessTarget(
  "vipless",
  "vipless (dist/vipless, Bun)",
  binCommand,
  hasBin,
  bunVersion,
  TUNED,
);

/** The same binary with two worker processes sharing the SIP port (`workers: 2`). */
const viplessBunWorkers = viplessTarget(
  "vipless-w2",
  "vipless (dist/vipless, Bun, workers: 2)",
  binCommand,
  hasBin,
  bunVersion,
  { defaults: false, workers: 2 },
);

const viplessDeno = viplessTarget(
  "deno",
  "vipless (dist/vipless.js, Deno)",
  denoCommand,
  hasDeno,
  denoVersion,
  TUNED,
);

const viplessDenoDefaults = viplessTarget(
  "deno-defaults",
  "vipless (dist/vipless.js, Deno, defaults)",
  denoCommand,
  hasDeno,
  denoVersion,
  DEFAULTS,
);

const kamailio: Target = {
  id: "kamailio",
  title: "Kamailio (tm, rr, dispatcher alg 8)",
  config: (s) =>
    `${s.kamailioChildren} children, -m ${s.kamailioShmMiB}, fr_timer ${s.failoverMs}ms, ` +
    "ds ping 1s/2",
  unavailable: () => kamailioUnavailable(),
  version: kamailioVersion,
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
    const events = new EventLog(child, kamailioEvent);
    if (!(await waitSip(p.sip, 10_000, child))) {
      await child.stop();
      throw new Error(`kamailio did not answer OPTIONS on ${p.sip}: ${child.tail}`);
    }
    return { child, events, pids: () => processTree(child.pid) };
  },
};

export const TARGETS: Record<TargetId, Target> = {
  "vipless-defaults": viplessDefaults,
  vipless: viplessBun,
  "vipless-w2": viplessBunWorkers,
  deno: viplessDeno,
  "deno-defaults": viplessDenoDefaults,
  kamailio,
};
