/**
 * Configuration warnings of a running instance go through the log like every other
 * event (JSON under `log.format: json`), at start and after each accepted reload.
 * `check-config` keeps printing them as plain text for the person running it.
 */
import { logger } from "./logging.ts";

export function logConfigWarnings(path: string, warnings: readonly string[]): void {
  const log = logger("config");
  for (const warning of warnings) {
    log.warning("{path}: warning: {warning}", { event: "config-warning", path, warning });
  }
}
