/**
 * A real headless Chromium (Debian `chromium`) driven over the DevTools protocol: open a
 * page, evaluate expressions in it, take a screenshot. For the status page tests.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./vipless-process.ts";

export const CHROMIUM = process.env.CHROMIUM ?? "chromium";

/** Why Chromium cannot be used here, or null when it can. */
export function chromiumMissing(): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${CHROMIUM}`]);
  return r.status === 0 ? null : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

export interface Browser {
  /** Evaluates a JavaScript expression in the page and returns its (JSON) value. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  close(): Promise<void>;
}

/** Starts Chromium on `url` and connects to that page's DevTools websocket. */
export async function openPage(url: string, timeoutMs = 20_000): Promise<Browser> {
  const profile = tempDir();
  const child = spawn(CHROMIUM, [
    "--headless",
    "--no-sandbox", // the suite runs as root in CI; Chromium refuses its sandbox then
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--remote-debugging-port=0",
    `--user-data-dir=${profile}`,
    url,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  const deadline = Date.now() + timeoutMs;
  const fail = (what: string) => {
    child.kill("SIGKILL");
    return new Error(`chromium: ${what}; stderr:\n${stderr.slice(-2000)}`);
  };

  // With port 0, Chromium writes the port it chose into the profile directory.
  const portFile = join(profile, "DevToolsActivePort");
  while (!existsSync(portFile) || readFileSync(portFile, "utf8").split("\n").length < 2) {
    if (child.exitCode !== null) throw fail(`exited (${child.exitCode})`);
    if (Date.now() > deadline) throw fail("no DevToolsActivePort");
    await new Promise((r) => setTimeout(r, 100));
  }
  const port = Number(readFileSync(portFile, "utf8").split("\n")[0]);
  let wsUrl: string | undefined;
  while (!wsUrl) {
    if (Date.now() > deadline) throw fail("no page target");
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<
      { type: string; url: string; webSocketDebuggerUrl: string }
    >;
    wsUrl = targets.find((t) => t.type === "page" && t.url.startsWith(url))
      ?.webSocketDebuggerUrl;
    if (!wsUrl) await new Promise((r) => setTimeout(r, 100));
  }

  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(fail("websocket failed"));
  });
  let nextId = 1;
  const pending = new Map<number, (msg: Record<string, unknown>) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data));
    pending.get(msg.id)?.(msg);
    pending.delete(msg.id);
  };
  const call = (method: string, params: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), 10_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });

  return {
    async evaluate<T>(expression: string): Promise<T> {
      const m = await call("Runtime.evaluate", { expression, returnByValue: true });
      const result = m.result as {
        result?: { value?: unknown };
        exceptionDetails?: { text: string };
      };
      if (result?.exceptionDetails) {
        throw new Error(`${expression}: ${JSON.stringify(result.exceptionDetails)}`);
      }
      return result?.result?.value as T;
    },
    async close() {
      ws.close();
      // SIGTERM lets Chromium stop its helper processes, which write into the profile
      // until they exit (a SIGKILL of the browser alone left them writing, and the
      // removal below failed with ENOTEMPTY); SIGKILL only if it does not stop in 5 s.
      child.kill("SIGTERM");
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 5_000)),
      ]);
      if (!stopped) {
        child.kill("SIGKILL");
        await exited;
      }
      await removeProfile(profile);
    },
  };
}

/** Removes a profile directory, trying again while a helper process still writes in it. */
async function removeProfile(dir: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      return rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if (attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
