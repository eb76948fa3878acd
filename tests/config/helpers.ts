// Shared helpers for the config tests: build YAML from lines so that line numbers in
// assertions can be read off the test, and run the parser to errors or a config.
import assert from "node:assert/strict";
import { type Config, type ConfigError, parseConfig } from "../../src/config/index.ts";

export const FILE = "test.yaml";

/** Joins lines with "\n"; line N of the YAML is argument N. */
export function yaml(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** The smallest valid config, as lines, for tests that add one key. */
export const MINIMAL = [
  "advertise: proxy.example.com",
  "pairs:",
  "  - name: site-a",
  "    primary: sip:10.0.0.11:5060",
  "    backup: sip:10.0.0.12:5060",
];

/** One more item of the `pairs:` list, as its three lines (name, primary, backup). */
export function pairLines(name: string, primary: string, backup: string): string[] {
  return [`  - name: ${name}`, `    primary: ${primary}`, `    backup: ${backup}`];
}

/** MINIMAL with site-a's backup (line 5) set to `uri`. */
export function withBackup(uri: string): string {
  const lines = [...MINIMAL];
  lines[4] = `    backup: ${uri}`;
  return yaml(...lines);
}

export function parseOk(text: string): Config {
  const result = parseConfig(text, FILE);
  if (!result.ok) {
    assert.fail(`expected a valid config, got:\n${result.error.map((e) => e.message).join("\n")}`);
  }
  return result.config;
}

export function parseErrors(text: string): ConfigError[] {
  const result = parseConfig(text, FILE);
  if (result.ok) assert.fail("expected errors, but the config was accepted");
  return result.error;
}

/** Asserts an error at line:col whose message matches, and returns it. */
export function expectError(
  errors: ConfigError[],
  line: number,
  col: number,
  message: RegExp,
): ConfigError {
  const found = errors.find((e) => e.line === line && e.col === col && message.test(e.message));
  if (found === undefined) {
    const all = errors.map((e) => `  ${e.line}:${e.col}: ${e.message}`).join("\n");
    assert.fail(`no error at ${line}:${col} matching ${message}; errors were:\n${all}`);
  }
  return found;
}
