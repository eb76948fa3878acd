// parseConfig: YAML text → validated Config, or every error with FILE:LINE:COL.
// Pure: the caller reads the file (loadConfigFile takes the reader as a parameter).
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { byPosition, type ConfigError } from "./errors.ts";
import { configErrorMap } from "./messages.ts";
import { type Config, configSchema } from "./schema.ts";
import type { Result } from "../result.ts";
import { configWarnings } from "./warnings.ts";
import { positionOf } from "./yaml-positions.ts";

/** A config, or every error found in the file (each with its position). */
export type ConfigResult = Result<{ config: Config; warnings: string[] }, ConfigError[]>;

/** Aliases expanding into more nodes than this are refused (a "billion laughs" file). */
const MAX_ALIAS_COUNT = 100;

export function parseConfig(text: string, file: string): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number, message: string): ConfigError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col, message };
  };

  // A file with broken YAML would only yield confusing schema errors on top; stop here.
  if (doc.errors.length > 0) {
    return {
      ok: false,
      error: doc.errors.map((e) =>
        at(e.pos[0], yamlErrorMessage(e.code, e.message, text, e.pos[0]))
      ),
    };
  }
  if (doc.contents === null) {
    return {
      ok: false,
      error: [at(0, "the config file is empty; it needs at least 'advertise' and 'pairs'")],
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return { ok: false, error: [at(0, e instanceof Error ? e.message : String(e))] };
  }

  const result = configSchema.safeParse(data, { error: configErrorMap });
  if (!result.success) {
    const errors = result.error.issues.flatMap((issue) => issueErrors(issue));
    return { ok: false, error: dedupe(errors).sort(byPosition) };
  }

  // Plain messages: the caller prefixes "FILE: warning: ". Schema warnings start with
  // the key path; YAML's own warnings get their position spelled out.
  const warnings = [
    ...doc.warnings.map((w) => {
      const { line, col } = lineCounter.linePos(w.pos[0]);
      return `line ${line}, column ${col}: ${yamlMessage(w.message)}`;
    }),
    ...configWarnings(result.data),
  ];
  return { ok: true, config: result.data, warnings };

  function issueErrors(issue: z.core.$ZodIssue): ConfigError[] {
    const path = issue.path;
    if (issue.code === "unrecognized_keys") {
      // One error per key, each at the key itself; the message has one line per key.
      const lines = issue.message.split("\n");
      return issue.keys.map((key, i) => {
        const { line, col } = positionOf(doc, lineCounter, [...path, key], "key");
        return { file, line, col, message: lines[i] ?? `unknown key '${key}'` };
      });
    }
    const { line, col } = positionOf(doc, lineCounter, path);
    return [{ file, line, col, message: withPath(path, issue.message) }];
  }
}

/** Reads a file through `readText` and parses it; a read failure is a single error. */
export function loadConfigFile(path: string, readText: (path: string) => string): ConfigResult {
  let text: string;
  try {
    text = readText(path);
  } catch (e) {
    const message = `cannot read config file: ${readFailureReason(e)}`;
    return { ok: false, error: [{ file: path, line: null, col: null, message }] };
  }
  return parseConfig(text, path);
}

/** Node's ENOENT and Deno's NotFound both become "no such file", and so on. */
function readFailureReason(e: unknown): string {
  const { code, name, message } = (typeof e === "object" && e !== null ? e : {}) as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
  };
  if (code === "ENOENT" || name === "NotFound") return "no such file";
  if (code === "EACCES" || code === "EPERM" || name === "PermissionDenied") {
    return "permission denied";
  }
  if (code === "EISDIR" || name === "IsADirectory") return "it is a directory";
  return typeof message === "string" ? message : String(e);
}

/** Prefixes the dotted key path ("probe.timeout: …") unless the message already names it. */
function withPath(path: readonly PropertyKey[], message: string): string {
  if (path.length === 0) return message;
  const dotted = path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".")
    .replace(/\.\[/g, "[");
  return message.startsWith(`${dotted} `) || message.startsWith("missing required key")
    ? message
    : `${dotted}: ${message}`;
}

/** The yaml package's message, with a hint for the mistakes operators actually make. */
function yamlErrorMessage(code: string, message: string, text: string, offset: number): string {
  const first = yamlMessage(message);
  if (code === "DUPLICATE_KEY") return `${first}: this key is already set above`;
  if (code === "MULTIPLE_DOCS") return "a config file holds one YAML document; remove the '---'";
  // "[udp://[::1]:5060]" opens a nested flow list at the IPv6 bracket.
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const lineEnd = text.indexOf("\n", offset);
  const line = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  if (line.includes("://[")) return `${first} (quote IPv6 addresses: "udp://[::1]:5060")`;
  return first;
}

/** The yaml package's messages sometimes end with a source excerpt; keep the first line. */
function yamlMessage(message: string): string {
  return message.split("\n")[0].replace(/:$/, "");
}

function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.line}:${e.col}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
