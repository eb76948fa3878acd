import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { reset } from "@logtape/logtape";
import { type LogFormat, logger, setupLogging } from "../../src/log/logging.ts";
import { logConfigWarnings } from "../../src/log/config-warnings.ts";

function capture(format: LogFormat): string[] {
  const lines: string[] = [];
  setupLogging({ level: "debug", format, write: (l) => lines.push(l) });
  return lines;
}

describe("log messages", () => {
  afterEach(() => reset());

  it("JSON: interpolated strings are not quoted; the fields keep their values", () => {
    const lines = capture("json");
    logger("t").info("listening for SIP on {transport}://{host}:{port}", {
      event: "listener-opened",
      transport: "udp",
      host: "127.0.0.1",
      port: 35060,
    });
    const e = JSON.parse(lines[0]!);
    assert.equal(e.message, "listening for SIP on udp://127.0.0.1:35060");
    assert.equal(e.transport, "udp");
    assert.equal(e.port, 35060);
  });

  it("text and JSON: a null value reads 'none', the field stays null", () => {
    for (const format of ["text", "json"] as const) {
      const lines = capture(format);
      logger("t").warning("pair {pair}: switchover from {from} to {to} ({reason})", {
        pair: "site-a",
        from: null,
        to: "sip:10.0.0.12:5060",
        reason: "recovery",
      });
      assert.match(
        lines[0]!,
        /pair site-a: switchover from none to sip:10\.0\.0\.12:5060 \(recovery\)/,
      );
      assert.doesNotMatch(lines[0]!, /from null/);
      if (format === "json") assert.equal(JSON.parse(lines[0]!).from, null);
    }
  });

  it("config warnings are log events (JSON under log.format: json)", () => {
    const lines = capture("json");
    logConfigWarnings("a.yaml", ["probe.force_interval (2s) is slower than probe.interval (1s)"]);
    const e = JSON.parse(lines[0]!);
    assert.equal(e.event, "config-warning");
    assert.equal(e.level, "WARN");
    assert.equal(e.path, "a.yaml");
    assert.match(e.message, /^a\.yaml: warning: probe\.force_interval/);
  });
});
