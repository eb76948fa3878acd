/**
 * The system under fuzz: two pair members (member.ts, in a process of their own) and
 * vipless started from a built artifact with a config naming them, on fresh loopback
 * ports.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, type Proc, start } from "../../tests/support/vipless-process.ts";
import { type Members, startMembers } from "./members-process.ts";
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
  /** vipless's overload.max_delay (a config duration; default: vipless's own). */
  maxDelay?: string;
  /** The members mutate this share of their answers to the fuzzer's requests. */
  mutateAnswers?: { seed: number; share: number; rfc4475Dir: string };
}

export interface Target {
  vip: Proc;
  pid: number;
  sipPort: number;
  httpPort: number;
  members: Members;
  /** How vipless ended, once it has: a crash while the fuzzer runs. */
  crashed(): string | null;
  stop(): Promise<void>;
}

function configText(o: TargetOptions, sip: number, http: number, members: Members): string {
  return [
    `listen: [udp://127.0.0.1:${sip}, tcp://127.0.0.1:${sip}]`,
    `advertise: 127.0.0.1:${sip}`,
    "serve: fuzz",
    `http: { listen: "127.0.0.1:${http}", token_env: null }`,
    // Lenient, as in the interop run: the machine is shared, and a member that answers
    // late because the CPU is busy must not fail the calls under test.
    "probe: { interval: 1s, timeout: 800ms, failures: 3 }",
    "failover: { timeout: 1s }",
    `sip: { t1: ${o.t1} }`,
    ...(o.maxDelay !== undefined ? [`overload: { max_delay: ${o.maxDelay} }`] : []),
    "pairs:",
    "  - name: fuzz",
    `    primary: sip:127.0.0.1:${members.ports[0]}`,
    `    backup: sip:127.0.0.1:${members.ports[1]}`,
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
export async function startTarget(o: TargetOptions): Promise<Target> {
  const sipPort = await freePort();
  const httpPort = await freePort("tcp");
  const ma = o.mutateAnswers;
  const members = await startMembers({
    proxyPort: sipPort,
    rfc4475Dir: ma?.rfc4475Dir ?? "",
    seed: ma?.seed ?? 0,
    share: ma?.share ?? 0,
  });
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
      await members.stop();
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
