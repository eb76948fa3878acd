/**
 * Runs vipless as a real process for tests: free loopback ports, a temporary config,
 * start from source or from dist/, wait for log lines, signal, stop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";
import { underDeno } from "./current-runtime.ts";
import { withTimeout } from "./wait.ts";

// Scripts (scripts/demo) take it from here; the one definition is in wait.ts.
export { withTimeout };

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const DENO = join(ROOT, "node_modules/.bin/deno");
export const DENO_FLAGS = [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-env",
  "--allow-sys",
  "--unstable-net",
];

let rt: Runtime | null = null;
export async function runtime(): Promise<Runtime> {
  rt ??= await detectRuntime();
  return rt;
}

/** A port that was free a moment ago (bind to 0, read it, close). */
export async function freePort(kind: "udp" | "tcp" | "both" = "both"): Promise<number> {
  const r = await runtime();
  for (let attempt = 0; attempt < 20; attempt++) {
    const l = await r.listenTcp({ host: "127.0.0.1", port: 0 }, { onData() {} });
    const port = l.local.port;
    l.close();
    if (kind === "tcp") return port;
    try {
      const u = await r.bindUdp({ host: "127.0.0.1", port }, { onMessage() {} });
      u.close();
      return port;
    } catch {
      // taken for UDP: try another
    }
  }
  throw new Error("no free port found");
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "vipless-test-"));
}

export interface TestConfig {
  sipPort: number;
  httpPort: number;
  primaryPort: number;
  backupPort: number;
  extra?: string;
  logFormat?: "json" | "text";
}

/** A TestConfig on ports that were free a moment ago. */
export async function freshConfig(
  o: Pick<TestConfig, "extra" | "logFormat"> = {},
): Promise<TestConfig> {
  return {
    sipPort: await freePort(),
    httpPort: await freePort("tcp"),
    primaryPort: await freePort(),
    backupPort: await freePort(),
    ...o,
  };
}

export function configYaml(c: TestConfig): string {
  return `listen: [udp://127.0.0.1:${c.sipPort}, tcp://127.0.0.1:${c.sipPort}]
advertise: 127.0.0.1:${c.sipPort}
serve: site-a
http:
  listen: 127.0.0.1:${c.httpPort}
  token_env: VIPLESS_TEST_TOKEN
probe: { interval: 1s, timeout: 300ms, failures: 2, force_interval: 500ms }
failover: { timeout: 500ms }
pairs:
  - name: site-a
    primary: sip:127.0.0.1:${c.primaryPort}
    backup: sip:127.0.0.1:${c.backupPort}
log: { level: debug, format: ${c.logFormat ?? "json"} }
${c.extra ?? ""}`;
}

export function writeConfig(dir: string, c: TestConfig, name = "vipless.yaml"): string {
  const path = join(dir, name);
  writeFileSync(path, configYaml(c));
  return path;
}

/** A fresh-port TestConfig, written to a new temporary directory. */
export async function freshConfigFile(
  o: Pick<TestConfig, "extra" | "logFormat"> = {},
): Promise<{ cfg: TestConfig; path: string }> {
  const cfg = await freshConfig(o);
  return { cfg, path: writeConfig(tempDir(), cfg) };
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGKILL unless it has exited already, then waits for the exit. */
  stop(): Promise<void>;
}

export function start(cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      resolve({ code, signal });
      for (const w of waiters.splice(0)) w();
    });
  });
  // process.kill, not child.kill: Deno's ChildProcess.kill marks the child killed after
  // the first signal (so a SIGHUP then a SIGTERM would not be sent).
  const kill = (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, signal);
  };
  return {
    child,
    output: () => out,
    exited,
    kill,
    async stop() {
      kill("SIGKILL");
      await exited;
    },
    async waitForOutput(re, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (child.exitCode !== null) {
          throw new Error(`process exited (${child.exitCode}) before ${re}; output:\n${out}`);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${re}; output:\n${out}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 200));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

/** Runs a command to completion and returns its exit code and output. */
export async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  const p = start(cmd, args, env);
  const { code } = await p.exited;
  return { code, out: p.output() };
}

/** The command line that runs vipless from source under the runtime running this test. */
function fromSource(args: string[]): [string, string[]] {
  return underDeno
    ? [DENO, [...DENO_FLAGS, "src/main.ts", ...args]]
    : [BUN, ["src/main.ts", ...args]];
}

/** Starts vipless from source (src/main.ts) under the runtime running this test. */
export function startVipless(args: string[], env: Record<string, string> = {}): Proc {
  return start(...fromSource(args), env);
}

/** Runs vipless from source to completion under the runtime running this test. */
export function runVipless(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return run(...fromSource(args), env);
}

/** The JSON log events in a process's output so far (a line still being written is not). */
export function logEvents(output: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by the pipe: not an event yet
    }
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function optionsRequest(port: number, transport: "UDP" | "TCP", localPort: number): string {
  const branch = "z9hG4bK" + Math.random().toString(36).slice(2);
  return `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\n` +
    `Via: SIP/2.0/${transport} 127.0.0.1:${localPort};branch=${branch};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:test@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1:${port}>\r\n` +
    `Call-ID: ${branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
}

/** A socket opened for one request: its local port, how to send on it, how to close it. */
interface OneShot {
  localPort: number;
  send(bytes: Uint8Array): void;
  close(): void;
}

type Open = (r: Runtime, port: number, onResponse: (text: string) => void) => Promise<OneShot>;

/** Opens a socket, sends `make(localPort)` on it to `port`, returns the first response. */
async function exchange(
  open: Open,
  port: number,
  make: (localPort: number) => string,
  timeoutMs: number,
  what: string,
): Promise<string> {
  let resolve!: (s: string) => void;
  const got = new Promise<string>((res) => (resolve = res));
  const sock = await open(await runtime(), port, resolve);
  try {
    sock.send(enc.encode(make(sock.localPort)));
    return await withTimeout(got, timeoutMs, what);
  } finally {
    sock.close();
  }
}

const openUdp: Open = async (r, port, onResponse) => {
  const sock = await r.bindUdp({ host: "127.0.0.1", port: 0 }, {
    onMessage: (data) => onResponse(dec.decode(data)),
  });
  return {
    localPort: sock.local.port,
    send: (bytes) => sock.send(bytes, { host: "127.0.0.1", port }),
    close: () => sock.close(),
  };
};

/** A TCP connection whose response is complete once its header part has arrived. */
const openTcp: Open = async (r, port, onResponse) => {
  let buf = "";
  const conn = await r.connectTcp({ host: "127.0.0.1", port }, {
    onData: (_c, data) => {
      buf += dec.decode(data);
      if (buf.includes("\r\n\r\n")) onResponse(buf);
    },
  });
  return {
    localPort: conn.local.port,
    send: (bytes) => conn.write(bytes),
    close: () => conn.close(),
  };
};

/** Sends one request over UDP and returns the first response's text. */
export function udpRequest(port: number, make: (localPort: number) => string, timeoutMs = 3000) {
  return exchange(openUdp, port, make, timeoutMs, "UDP response");
}

/** Sends one request over TCP and returns the first response's text. */
export function tcpRequest(port: number, make: (localPort: number) => string, timeoutMs = 3000) {
  return exchange(openTcp, port, make, timeoutMs, "TCP response");
}
