/**
 * Runs vipless as a real process for tests: free loopback ports, a temporary config,
 * start from source or from dist/, wait for log lines, signal, stop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";

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

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
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
  return {
    child,
    output: () => out,
    exited,
    // process.kill, not child.kill: Deno's ChildProcess.kill marks the child killed after
    // the first signal (so a SIGHUP then a SIGTERM would not be sent).
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, signal);
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

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
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

/** Sends one request over UDP and returns the first response's text. */
export async function udpRequest(
  port: number,
  make: (localPort: number) => string,
  timeoutMs = 3000,
): Promise<string> {
  const r = await runtime();
  let resolve!: (s: string) => void;
  const got = new Promise<string>((res) => (resolve = res));
  const sock = await r.bindUdp({ host: "127.0.0.1", port: 0 }, {
    onMessage: (data) => resolve(dec.decode(data)),
  });
  try {
    sock.send(enc.encode(make(sock.local.port)), { host: "127.0.0.1", port });
    return await withTimeout(got, timeoutMs, "UDP response");
  } finally {
    sock.close();
  }
}

/** Sends one request over TCP and returns the first response's text. */
export async function tcpRequest(
  port: number,
  make: (localPort: number) => string,
  timeoutMs = 3000,
): Promise<string> {
  const r = await runtime();
  let buf = "";
  let resolve!: (s: string) => void;
  const got = new Promise<string>((res) => (resolve = res));
  const conn = await r.connectTcp({ host: "127.0.0.1", port }, {
    onData: (_c, data) => {
      buf += dec.decode(data);
      if (buf.includes("\r\n\r\n")) resolve(buf);
    },
  });
  try {
    conn.write(enc.encode(make(conn.local.port)));
    return await withTimeout(got, timeoutMs, "TCP response");
  } finally {
    conn.close();
  }
}
