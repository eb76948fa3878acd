/** Starts members-main.ts as a child process and talks to it (ports, stats, stop). */
import { spawn } from "node:child_process";
import { BUN, DENO, ROOT } from "../../tests/support/vipless-process.ts";
import { underDeno } from "../../tests/support/current-runtime.ts";
import type { MemberStats } from "./member.ts";

export interface MembersOptions {
  proxyPort: number;
  rfc4475Dir: string;
  seed: number;
  /** Share of the answers to the fuzzer's requests that are mutated (0 = none). */
  share: number;
}

export interface Members {
  /** The primary's and the backup's UDP ports on 127.0.0.1. */
  ports: [number, number];
  stats(): Promise<MemberStats[]>;
  stop(): Promise<void>;
}

const SCRIPT = `${ROOT}scripts/fuzz/members-main.ts`;

/** Runs under the runtime running this process, as the rest of the session does. */
export async function startMembers(o: MembersOptions): Promise<Members> {
  const arg = JSON.stringify(o);
  const [cmd, args] = underDeno
    ? [DENO, ["run", "-A", "--unstable-net", SCRIPT, arg]]
    : [BUN, [SCRIPT, arg]];
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buf = "";
  child.stdout!.on("data", (d: Uint8Array | string) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  exited.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  /** The next line the child prints, within `ms`. */
  const nextLine = async (ms: number): Promise<string> => {
    const deadline = Date.now() + ms;
    while (lines.length === 0) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the members' process ${child.exitCode !== null ? "exited" : "is silent"}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return lines.shift()!;
  };
  const { ports } = JSON.parse(await nextLine(20_000)) as { ports: [number, number] };
  return {
    ports,
    async stats() {
      child.stdin!.write("stats\n");
      return JSON.parse(await nextLine(10_000)) as MemberStats[];
    },
    async stop() {
      child.stdin!.end();
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}
