/** Command-line parsing (node:util parseArgs), separate from main so that it is testable. */
import { parseArgs } from "node:util";
import type { LogLevel } from "@logtape/logtape";
import { LOG_LEVELS } from "../log/logging.ts";

export const USAGE = `Usage:
  vipless [--config FILE] [--log-level LEVEL]   run the proxy
  vipless check-config [--config FILE]          validate a configuration file and exit
  vipless --version                             print the version
  vipless --help                                print this help

The config file defaults to $VIPLESS_CONFIG, then config/vipless.yaml.
LEVEL is one of ${LOG_LEVELS.join(", ")}; it overrides log.level from the file.
Exit status: 0 on success, 2 on a usage or configuration error.`;

export type Command =
  | { kind: "run"; configPath: string; logLevel: LogLevel | null }
  | { kind: "check-config"; configPath: string }
  | { kind: "version" }
  | { kind: "help" }
  | { kind: "error"; message: string };

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
        version: { type: "boolean", short: "V" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return { kind: "error", message: (e as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const configPath = values.config ?? env("VIPLESS_CONFIG") ?? "config/vipless.yaml";
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== "check-config")) {
    return { kind: "error", message: `unknown command '${positionals.join(" ")}'` };
  }
  if (positionals[0] === "check-config") {
    if (values["log-level"] !== undefined) {
      return { kind: "error", message: "--log-level does not apply to check-config" };
    }
    return { kind: "check-config", configPath };
  }
  const level = values["log-level"];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
    return {
      kind: "error",
      message: `--log-level must be one of ${LOG_LEVELS.join(", ")}, not '${level}'`,
    };
  }
  return { kind: "run", configPath, logLevel: (level as LogLevel | undefined) ?? null };
}
