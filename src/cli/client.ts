/**
 * The command-line client in the vipless binary: `status`, `switchover`, `maintenance`
 * against a running instance's HTTP API. It finds the instance and the token variable
 * in the configuration file the instance runs with, so an operator on the host types
 * no URL and no token.
 */
import { formatConfigError, loadConfigFile } from "../config/index.ts";
import { formatHostPort } from "../net/address.ts";
import type { ClientCommand, ClientTarget } from "./args.ts";
import { pairLine, statusTable, type StatusView } from "./status-table.ts";

export interface ClientDeps {
  readTextFile(path: string): string;
  env(name: string): string | undefined;
  fetch(input: string, init?: RequestInit): Promise<Response>;
  stdout(text: string): void;
  stderr(text: string): void;
}

export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
const DEFAULT_TOKEN_ENV = "VIPLESS_ADMIN_TOKEN";
const REQUEST_TIMEOUT_MS = 5000;

interface Resolved {
  base: string;
  tokenEnv: string | null;
}

/** Runs one client command; returns the exit status. */
export async function runClient(
  cmd: ClientCommand,
  target: ClientTarget,
  deps: ClientDeps,
): Promise<number> {
  const where = resolveTarget(target, deps);
  if ("error" in where) {
    deps.stderr(where.error);
    return EXIT_USAGE;
  }
  const headers: Record<string, string> = { accept: "application/json" };
  if (cmd.kind !== "status") {
    const token = where.tokenEnv ? deps.env(where.tokenEnv) : undefined;
    if (!token) {
      deps.stderr(
        where.tokenEnv
          ? `vipless: ${cmd.kind} needs the admin token in $${where.tokenEnv} (http.token_env)\n`
          : `vipless: ${cmd.kind}: the admin API is off (http.token_env: null in the config)\n`,
      );
      return EXIT_USAGE;
    }
    headers.authorization = `Bearer ${token}`;
  }
  const pair = cmd.kind === "status" ? "" : encodeURIComponent(cmd.pair);
  const [method, path] = cmd.kind === "status"
    ? ["GET", "/status"]
    : cmd.kind === "switchover"
    ? ["POST", `/pairs/${pair}/switchover${cmd.force ? "?force=1" : ""}`]
    : [
      cmd.on ? "POST" : "DELETE",
      `/pairs/${pair}/members/${cmd.role}/maintenance${cmd.force ? "?force=1" : ""}`,
    ];
  const url = where.base + path;

  let res: Response;
  let body: unknown;
  try {
    res = await deps.fetch(url, {
      method,
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  } catch (e) {
    deps.stderr(`vipless: cannot reach vipless at ${where.base}: ${reason(e)}\n`);
    return EXIT_FAILED;
  }
  if (!res.ok) {
    const msg = typeof body === "object" && body !== null && "error" in body
      ? String((body as { error: unknown }).error)
      : String(body).slice(0, 200);
    deps.stderr(`vipless: ${method} ${url}: ${res.status} ${msg}\n`);
    return EXIT_FAILED;
  }
  if (cmd.kind === "status") {
    deps.stdout(
      cmd.json ? JSON.stringify(body, null, 2) + "\n" : statusTable(body as StatusView) + "\n",
    );
  } else if (cmd.kind === "switchover") {
    deps.stdout((pairLine(body) ?? `${cmd.pair}: switched`) + "\n");
  } else {
    const done = `${cmd.pair} ${cmd.role}: maintenance ${cmd.on ? "on" : "off"}`;
    const line = pairLine(body);
    deps.stdout(line ? `${done}\n${line}\n` : `${done}\n`);
  }
  return 0;
}

/** The base URL and token variable: --http first, then the config file's http section. */
function resolveTarget(t: ClientTarget, deps: ClientDeps): Resolved | { error: string } {
  const loaded = loadConfigFile(t.configPath, deps.readTextFile);
  if (!loaded.ok) {
    // Without --config, a missing default file is fine when --http says where to go.
    if (t.http !== null && !t.configGiven) {
      return { base: trimSlash(t.http), tokenEnv: DEFAULT_TOKEN_ENV };
    }
    const errors = loaded.error.map((e) => formatConfigError(e) + "\n").join("");
    const hint = t.http === null ? "(or give the instance with --http URL)\n" : "";
    return { error: errors + hint };
  }
  const { host, port } = loaded.config.http.listen;
  // A wildcard listener is reached on the loopback address of its family.
  const reach = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return {
    base: trimSlash(t.http ?? `http://${formatHostPort(reach, port)}`),
    tokenEnv: loaded.config.http.token_env,
  };
}

const trimSlash = (s: string) => s.replace(/\/+$/, "");

/** The cause of a failed fetch in a few words (runtimes wrap it differently). */
function reason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const code = err?.cause?.code ?? (err as { code?: string })?.code;
  const text = err?.cause?.message ?? err?.message ?? String(e);
  if (code === "ECONNREFUSED" || /refused/i.test(text)) {
    return "connection refused (is it running?)";
  }
  return code ? `${code}: ${text}` : text;
}
