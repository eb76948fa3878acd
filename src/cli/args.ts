/** Command-line parsing (node:util parseArgs), separate from main so that it is testable. */
import { parseArgs } from "node:util";
import type { LogLevel } from "@logtape/logtape";
import { LOG_LEVELS } from "../log/logging.ts";

export const USAGE = `Usage:
  vipless [-c FILE] [--log-level LEVEL]          run the proxy
  vipless check-config [-c FILE]                 validate a configuration file and exit
  vipless status [-c FILE] [--http URL] [--json] pairs, members, health and who is active
  vipless switchover PAIR [--force] [-c FILE] [--http URL]
                                                 make the other member of PAIR active
  vipless maintenance PAIR primary|backup on|off [--force] [-c FILE] [--http URL]
                                                 take a member out of (or back into) service
  vipless -V | --version                         print the version
  vipless -h | --help                            print this help

Options:
  -c, --config FILE   the configuration file; default $VIPLESS_CONFIG, then config/vipless.yaml
  --log-level LEVEL   one of ${LOG_LEVELS.join(", ")}; overrides log.level from the file
  --http URL          the running instance's HTTP API; default: http.listen from the file
  --json              status: print the /status JSON instead of a table
  --force             switchover, maintenance: even when the other member is down

status, switchover and maintenance talk to a running vipless over HTTP; switchover and
maintenance send the bearer token from the variable http.token_env names
(default VIPLESS_ADMIN_TOKEN).

Exit status: 0 on success; 1 when the proxy cannot start (a listener cannot be opened)
or a client command fails (instance unreachable, request refused); 2 on a usage or
configuration error.`;

export type ClientCommand =
  | { kind: "status"; json: boolean }
  | { kind: "switchover"; pair: string; force: boolean }
  | {
    kind: "maintenance";
    pair: string;
    role: "primary" | "backup";
    on: boolean;
    force: boolean;
  };

/** Where a client command finds the instance: `--http`, else the config file. */
export interface ClientTarget {
  configPath: string;
  /** True when the path came from --config or $VIPLESS_CONFIG (then it must load). */
  configGiven: boolean;
  http: string | null;
}

export type Command =
  | { kind: "run"; configPath: string; logLevel: LogLevel | null }
  | { kind: "check-config"; configPath: string }
  | { kind: "client"; command: ClientCommand; target: ClientTarget }
  | { kind: "version" }
  | { kind: "help" }
  | { kind: "error"; message: string };

type Values = {
  config?: string;
  "log-level"?: string;
  http?: string;
  json?: boolean;
  force?: boolean;
};

const err = (message: string): Command => ({ kind: "error", message });

export function parseCommandLine(
  argv: string[],
  env: (name: string) => string | undefined,
): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        "log-level": { type: "string" },
        http: { type: "string" },
        json: { type: "boolean" },
        force: { type: "boolean" },
        version: { type: "boolean", short: "V" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return err((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const given = values.config ?? env("VIPLESS_CONFIG");
  const configPath = given ?? "config/vipless.yaml";
  const [verb, ...rest] = positionals;
  if (verb === "status" || verb === "switchover" || verb === "maintenance") {
    const command = clientCommand(verb, rest, values);
    if ("message" in command) return err(command.message);
    return {
      kind: "client",
      command,
      target: { configPath, configGiven: given !== undefined, http: values.http ?? null },
    };
  }
  const clientOnly = (["http", "json", "force"] as const).find((k) => values[k] !== undefined);
  if (clientOnly) return err(`--${clientOnly} applies to status, switchover and maintenance only`);
  if (positionals.length > 1 || (verb !== undefined && verb !== "check-config")) {
    return err(`unknown command '${positionals.join(" ")}'`);
  }
  if (verb === "check-config") {
    if (values["log-level"] !== undefined) {
      return err("--log-level does not apply to check-config");
    }
    return { kind: "check-config", configPath };
  }
  const level = values["log-level"];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return err(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not '${level}'`);
  }
  return { kind: "run", configPath, logLevel: (level as LogLevel | undefined) ?? null };
}

function clientCommand(
  verb: "status" | "switchover" | "maintenance",
  args: string[],
  v: Values,
): ClientCommand | { message: string } {
  if (v["log-level"] !== undefined) return { message: `--log-level does not apply to ${verb}` };
  if (v.json && verb !== "status") return { message: `--json applies to status only` };
  if (v.force && verb === "status") {
    return { message: `--force applies to switchover and maintenance only` };
  }
  if (v.http !== undefined && !/^https?:\/\/[^/]/.test(v.http)) {
    return { message: `--http must be a URL like http://127.0.0.1:8080, not '${v.http}'` };
  }
  if (verb === "status") {
    if (args.length > 0) return { message: `status takes no arguments, not '${args.join(" ")}'` };
    return { kind: "status", json: v.json ?? false };
  }
  if (verb === "switchover") {
    if (args.length !== 1) return { message: "usage: vipless switchover PAIR [--force]" };
    return { kind: "switchover", pair: args[0]!, force: v.force ?? false };
  }
  const [pair, role, state] = args;
  if (
    args.length !== 3 || (role !== "primary" && role !== "backup") ||
    !["on", "off"].includes(state!)
  ) {
    return { message: "usage: vipless maintenance PAIR primary|backup on|off" };
  }
  return { kind: "maintenance", pair: pair!, role, on: state === "on", force: v.force ?? false };
}
