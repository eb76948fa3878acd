/**
 * Structured logging with LogTape. Every component logs under the "vipless" category
 * with a sub-category (`logger("sip")`), and every state change is one event with its
 * facts as properties, so JSON output can be filtered without parsing messages.
 */
import {
  configureSync,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";
import { withRenderedMessage } from "./render-message.ts";

export type LogFormat = "json" | "text";

export interface LoggingOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where finished lines go (the runtime's stdout in production, a buffer in tests). */
  write(line: string): void;
}

/** (Re)configures logging; safe to call again on config reload. */
export function setupLogging(opts: LoggingOptions): void {
  const format = opts.format === "json"
    ? getJsonLinesFormatter({ properties: "flatten", categorySeparator: "." })
    : getTextFormatter({ timestamp: "date-time-tz", category: "." });
  // Messages are rendered here, the same for both formats (render-message.ts): the
  // formatters would quote every string value interpolated into them.
  const sink = (record: LogRecord) => opts.write(format(withRenderedMessage(record)));
  configureSync({
    reset: true,
    sinks: { out: sink },
    loggers: [
      { category: ["vipless"], lowestLevel: opts.level, sinks: ["out"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["out"] },
    ],
  });
}

export function logger(component: string): Logger {
  return getLogger(["vipless", component]);
}

export const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "fatal",
];
