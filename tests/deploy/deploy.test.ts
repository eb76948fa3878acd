// deploy/: the Prometheus alert rules and the Grafana dashboard fit what vipless
// exports. A running vipless (from source) has every series the rules need from boot,
// at 0 or -1 (so that `increase()` sees the first switchover); every metric the rules,
// their promtool tests and the dashboard name is one vipless exports; and promtool
// (Debian `prometheus`) checks the rules and runs their unit tests when installed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  freshConfigFile,
  type Proc,
  ROOT,
  startVipless,
  type TestConfig,
} from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";
import { SWITCH_REASONS } from "../../src/ha/types.ts";

const RULES = join(ROOT, "deploy/prometheus/vipless-rules.yml");
const RULE_TESTS = join(ROOT, "deploy/prometheus/vipless-rules.test.yml");
const DASHBOARD = join(ROOT, "deploy/grafana/vipless.json");

const PROMTOOL = process.env.PROMTOOL ?? "promtool";
const hasPromtool = spawnSync("sh", ["-c", `command -v ${PROMTOOL}`]).status === 0;
const promtoolMissing = hasPromtool
  ? null
  : `${PROMTOOL} is not installed (apt-get install prometheus)`;
if (promtoolMissing) {
  console.log(`promtool checks of deploy/prometheus skipped: ${promtoolMissing}`);
}

/** Metric names in a text (histogram suffixes folded into their family). */
function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\b((?:vipless|process)_[a-z0-9_]+)/g)) {
    names.add(m[1]!.replace(/_(bucket|sum|count)$/, ""));
  }
  return names;
}

describe(`deploy/ rules and dashboard against a running vipless (${RUNTIME})`, () => {
  let proc: Proc;
  let cfg: TestConfig;
  let metrics = "";
  before(async () => {
    // Members on ports nothing answers: the health of both stays unknown for a while.
    ({ cfg } = await freshConfigFile().then(async (f) => {
      proc = startVipless(["--config", f.path]);
      await proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
      return f;
    }));
    metrics = await (await fetch(`http://127.0.0.1:${cfg.httpPort}/metrics`)).text();
  });
  after(() => proc?.stop());

  const sample = (series: string) => {
    const line = metrics.split("\n").find((l) => l.startsWith(series + " "));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it("has every switchover, overload and reload counter at 0 from boot", () => {
    for (const reason of SWITCH_REASONS) {
      assert.equal(sample(`vipless_switchovers_total{pair="site-a",reason="${reason}"}`), 0);
    }
    for (const reason of ["transactions", "invite-rate", "saturated"]) {
      assert.equal(sample(`vipless_overload_rejections_total{reason="${reason}"}`), 0);
    }
    for (const outcome of ["applied", "rejected"]) {
      assert.equal(sample(`vipless_config_reloads_total{outcome="${outcome}"}`), 0);
    }
    assert.equal(sample("vipless_config_last_reload_timestamp_seconds"), 0);
  });

  it("has every member's series from boot: health tri-state, role, maintenance, traffic, probes", () => {
    const m = (role: string, port: number) =>
      `pair="site-a",role="${role}",member="sip:127.0.0.1:${port}"`;
    for (
      const [role, port] of [["primary", cfg.primaryPort], ["backup", cfg.backupPort]] as const
    ) {
      const labels = m(role, port);
      const up = sample(`vipless_member_up{${labels}}`);
      assert.ok(up === -1 || up === 0, `member_up ${up}: not yet known (-1) or down (0), not up`);
      assert.equal(sample(`vipless_member_maintenance{${labels}}`), 0);
      assert.equal(sample(`vipless_pair_active_member{${labels}}`), role === "primary" ? 1 : 0);
      for (const kind of ["forwarded", "retried", "failed", "timed_out"]) {
        assert.equal(sample(`vipless_member_${kind}_total{${labels}}`), 0, kind);
      }
      for (const result of ["ok", "timeout", "transport-error", "bad-status"]) {
        const v = sample(`vipless_probe_results_total{${labels},result="${result}"}`);
        assert.ok(v !== undefined, `probe result ${result}`);
      }
      const states = ["up", "down", "unknown"].map((s) =>
        sample(`vipless_member_state{${labels},state="${s}"}`)
      );
      assert.equal(states.reduce((a, b) => a! + b!, 0), 1, `one state at 1: ${states}`);
    }
  });

  it("exports the process's CPU time and memory (and open descriptors where /proc/self is readable)", () => {
    assert.ok(sample("process_cpu_seconds_total")! > 0);
    assert.ok(sample("process_resident_memory_bytes")! > 0);
    // Deno refuses /proc/self without --allow-all: the series is left out there.
    if (RUNTIME === "bun") assert.ok(sample("process_open_fds")! > 0);
  });

  it("names only metrics vipless exports, in the rules, their tests and the dashboard", () => {
    const exported = new Set(
      [...metrics.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!),
    );
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8"));
    assert.ok(dashboard.panels.length > 10);
    for (const file of [RULES, RULE_TESTS, DASHBOARD]) {
      const names = metricNames(readFileSync(file, "utf8"));
      assert.ok(names.size > 3, file);
      const unknown = [...names].filter((n) => !exported.has(n));
      assert.deepEqual(unknown, [], `${file} names metrics vipless does not export`);
    }
  });
});

describe("deploy/prometheus with promtool", { skip: promtoolMissing ?? false }, () => {
  const promtool = (...args: string[]) => {
    const r = spawnSync(PROMTOOL, args, { cwd: join(ROOT, "deploy/prometheus"), encoding: "utf8" });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };

  it("promtool check rules accepts the alert rules", () => {
    const r = promtool("check", "rules", "vipless-rules.yml");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: \d+ rules found/);
  });

  it("promtool test rules: the first switchover fires the documented alert, and the rest", () => {
    const r = promtool("test", "rules", "vipless-rules.test.yml");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });
});
