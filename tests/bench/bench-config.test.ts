// The whole-proxy bench's own claims: the vipless-defaults target overrides nothing but
// addresses and the log format, each target's configuration text says what it sets,
// and the HA events it counts are read from the log lines vipless really writes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resetSync } from "@logtape/logtape";
import { parseConfig } from "../../src/config/index.ts";
import { logger, setupLogging } from "../../src/log/logging.ts";
import { haEventLogger } from "../../src/service/ha-log.ts";
import { eventCounts, kamailioEvent, viplessEvent } from "../../scripts/bench/proxy/ha-events.ts";
import { rowAt } from "../../scripts/bench/proxy/samples.ts";
import {
  PROBE_PROFILES,
  type Settings,
  viplessConfigText,
  viplessYaml,
} from "../../scripts/bench/proxy/vipless-config.ts";

const PORTS = { sip: 5999, http: 8999, primary: 5071, backup: 5081 };
const SETTINGS: Settings = {
  failoverMs: 1000,
  maxTransactions: 1_000_000,
  kamailioChildren: 4,
  kamailioShmMiB: 1024,
  kamailioPkgMiB: 16,
};
const SUBSECOND: Settings = { ...SETTINGS, probe: PROBE_PROFILES.subsecond };
const DEFAULTS = { defaults: true, workers: 1 };
const TUNED = { defaults: false, workers: 1 };

function parsed(text: string) {
  const r = parseConfig(text, "bench.yaml");
  if (!r.ok) assert.fail(r.error.map((e) => e.message).join("; "));
  return r.config;
}

/** The shipped configuration: only what vipless cannot guess (where and what it serves). */
const SHIPPED = parsed(
  "advertise: 127.0.0.1:5999\npairs:\n  - name: bench\n" +
    "    primary: sip:127.0.0.1:5071\n    backup: sip:127.0.0.1:5081\n",
);

/** Every section a target could tune (all but addresses, pairs and the log). */
function tunables(c: typeof SHIPPED) {
  const { listen: _l, advertise: _a, serve: _s, http: _h, pairs: _p, log: _g, ...rest } = c;
  return rest;
}

describe("bench vipless configuration", () => {
  it("vipless-defaults sets nothing a user would have to tune", () => {
    const c = parsed(viplessYaml(PORTS, SETTINGS, DEFAULTS));
    assert.deepEqual(tunables(c), tunables(SHIPPED));
    assert.equal(c.log.format, "json");
    assert.equal(c.log.level, SHIPPED.log.level);
    assert.equal(viplessConfigText(SETTINGS, DEFAULTS), "defaults");
  });

  it("the sub-second profile changes only the probe of the defaults target", () => {
    const c = parsed(viplessYaml(PORTS, SUBSECOND, DEFAULTS));
    assert.deepEqual(
      { interval: c.probe.interval, timeout: c.probe.timeout, failures: c.probe.failures },
      { interval: 500, timeout: 300, failures: 2 },
    );
    assert.deepEqual({ ...tunables(c), probe: null }, { ...tunables(SHIPPED), probe: null });
    assert.equal(
      viplessConfigText(SUBSECOND, DEFAULTS),
      "defaults + sub-second probes 500ms/300ms/2",
    );
  });

  it("the tuned target says what it overrides, and the profile applies to it too", () => {
    const c = parsed(viplessYaml(PORTS, SUBSECOND, { defaults: false, workers: 2 }));
    assert.equal(c.sip.max_transactions, 1_000_000);
    assert.equal(c.probe.interval, 500);
    assert.equal(c.workers, 2);
    assert.equal(
      viplessConfigText(SETTINGS, TUNED),
      "max_transactions=1000000, probe 1s/500ms/2, failover 1000ms",
    );
    assert.match(viplessConfigText(SUBSECOND, TUNED), /sub-second probes 500ms\/300ms\/2/);
  });
});

describe("bench HA event reading", () => {
  it("reads type, member and the decision time from vipless's own JSON log line", () => {
    const lines: string[] = [];
    setupLogging({ level: "info", format: "json", write: (l) => lines.push(l) });
    try {
      const log = haEventLogger(logger("ha"), () => 1_800_000_000_000);
      log({
        type: "switchover",
        pair: "bench",
        from: "sip:127.0.0.1:5071",
        to: "sip:127.0.0.1:5081",
        reason: "probe-timeout",
        at: 1234,
      });
      log({
        type: "member-up",
        pair: "bench",
        member: "sip:127.0.0.1:5071",
        role: "primary",
        at: 5,
      });
    } finally {
      resetSync();
    }
    const events = lines.join("").split("\n").filter((l) => l).map((l) => viplessEvent(l, 0));
    assert.deepEqual(events[0], {
      type: "switchover",
      at: 1_800_000_001_234,
      member: "sip:127.0.0.1:5081",
      reason: "probe-timeout",
    });
    assert.equal(events[1]?.type, "member-up");
    assert.equal(eventCounts(events.filter((e) => e !== undefined)), "switchover 1, member-up 1");
  });

  it("ignores other log lines, and reads Kamailio's dispatcher lines", () => {
    assert.equal(viplessEvent('{"event":"config-loaded","path":"x"}', 0), undefined);
    assert.equal(viplessEvent("not json {", 0), undefined);
    const k = kamailioEvent(
      " 5(1602) ERROR: <script>: bench-ha dst-down sip:127.0.0.1:42253 sip:service@x:1",
      77,
    );
    assert.deepEqual(k, { type: "member-down", at: 77, member: "sip:127.0.0.1:42253" });
    assert.equal(
      kamailioEvent("bench-ha dst-up <null> sip:127.0.0.1:5081", 1)?.member,
      "sip:127.0.0.1:5081",
    );
    assert.equal(eventCounts([]), "none");
  });

  it("matches a sample time to SIPp's per-second row", () => {
    const rows = [0, 1, 2, 3].map((s) => ({ "ElapsedTime(C)": `00:00:0${s}:004000`, n: `${s}` }));
    assert.equal(rowAt(rows, 2)?.n, "2");
    assert.equal(rowAt(rows, 10)?.n, "3");
    assert.equal(rowAt(rows, -5), undefined);
  });
});
