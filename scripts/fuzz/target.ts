/**
 * The system under fuzz: two pair members (member.ts) and vipless started from a
 * built artifact with a config naming them, on fresh loopback ports.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "../../src/runtime/index.ts";
import { freePort, type Proc, start } from "../../tests/support/vipless-process.ts";
import { Member } from "./member.ts";
import { type Snapshot, snapshot } from "./observe.ts";

export interface TargetOptions {
  /** How vipless is started: command and arguments before `--config FILE`. */
  command: [string, string[]];
  /** vipless's sip.t1 (a config duration, e.g. "500ms"). */
  t1: string;
  /** vipless's log.level (default error: a warning per malformed message would be the load). */
  logLevel?: string;
  /** Where the config goes. */
  dir: string;
}

export interface Target {
  vip: Proc;
  pid: number;
  sipPort: number;
  httpPort: number;
  members: Member[];
  /** How vipless ended, once it has: a crash while the fuzzer runs. */
  crashed(): string | null;
  stop(): Promise<void>;
}

function configText(o: TargetOptions, sip: number, http: number, members: Member[]): string {
  return [
    `listen: [udp://127.0.0.1:${sip}, tcp://127.0.0.1:${sip}]`,
    `advertise: 127.0.0.1:${sip}`,
    "serve: fuzz",
    `http: { listen: "127.0.0.1:${http}", token_env: null }`,
    "probe: { interval: 1s, timeout: 500ms, failures: 3 }",
    "failover: { timeout: 1s }",
    `sip: { t1: ${o.t1} }`,
    "pairs:",
    "  - name: fuzz",
    `    primary: sip:127.0.0.1:${members[0].port}`,
    `    backup: sip:127.0.0.1:${members[1].port}`,
    `log: { level: ${o.logLevel ?? "error"}, format: json }`,
    "",
  ].join("\n");
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(http: number, ms: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && alive()) {
    try {
      const res = await fetch(`http://127.0.0.1:${http}/ready`);
      await res.body?.cancel();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  return false;
}

/** Members and vipless up, vipless ready (its pair in service); throws otherwise. */
export async function startTarget(rt: Runtime, o: TargetOptions): Promise<Target> {
  const sipPort = await freePort();
  const httpPort = await freePort("tcp");
  const members = [await Member.start(rt, "primary"), await Member.start(rt, "backup")];
  const config = join(o.dir, "vipless.yaml");
  writeFileSync(config, configText(o, sipPort, httpPort, members));
  const [cmd, args] = o.command;
  const vip = start(cmd, [...args, "--config", config]);
  // An object, so that the exit seen in the callback is read fresh everywhere.
  const ended: { crash: string | null } = { crash: null };
  vip.exited.then(({ code, signal }) => {
    ended.crash = `vipless exited (code ${code}, signal ${signal})`;
  });
  const target: Target = {
    vip,
    pid: vip.child.pid ?? -1,
    sipPort,
    httpPort,
    members,
    crashed: () => ended.crash,
    async stop() {
      await vip.stop();
      for (const m of members) m.close();
    },
  };
  if (!(await waitReady(httpPort, 20_000, () => ended.crash === null))) {
    await target.stop();
    throw new Error(
      `vipless did not become ready: ${ended.crash ?? ""}\n${vip.output().slice(-2000)}`,
    );
  }
  return target;
}

/** The baseline: the highest of a few looks (probe transactions come and go). */
export async function baseline(t: Target, looks = 4): Promise<Snapshot> {
  let base: Snapshot | undefined;
  for (let i = 0; i < looks; i++) {
    const s = await snapshot(t.httpPort, t.pid);
    if (!s) throw new Error("vipless /metrics did not answer");
    base = base === undefined ? s : {
      ...s,
      transactions: Math.max(base.transactions, s.transactions),
      tcpConnections: Math.max(base.tcpConnections, s.tcpConnections),
      fds: Math.max(base.fds, s.fds),
    };
    if (i < looks - 1) await sleep(500);
  }
  return base!;
}
