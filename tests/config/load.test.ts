import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  describeConfig,
  formatConfigError,
  loadConfigFile,
  parseConfig,
} from "../../src/config/index.ts";
import { MINIMAL, pairLines, parseOk, yaml } from "./helpers.ts";

function failingReader(error: Error): (path: string) => string {
  return () => {
    throw error;
  };
}

describe("loadConfigFile", () => {
  it("reads through the given reader and reports errors under that path", () => {
    const result = loadConfigFile("etc/v.yaml", () => yaml(...MINIMAL, "probes: {}"));
    assert.ok(!result.ok);
    assert.equal(
      formatConfigError(result.error[0]),
      "etc/v.yaml:6:1: unknown key 'probes' " +
        "(did you mean 'probe'?)",
    );
  });

  it("a missing file is one error without a position (Node's and Deno's errors)", () => {
    const nodeStyle = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    const denoStyle = Object.assign(new Error("No such file (os error 2)"), { name: "NotFound" });
    for (const error of [nodeStyle, denoStyle]) {
      const result = loadConfigFile("missing.yaml", failingReader(error));
      assert.ok(!result.ok);
      assert.deepEqual(result.error, [{
        file: "missing.yaml",
        line: null,
        col: null,
        message: "cannot read config file: no such file",
      }]);
      assert.equal(
        formatConfigError(result.error[0]),
        "missing.yaml: cannot read config file: no such file",
      );
    }
  });

  it("an unreadable file keeps the reason", () => {
    const error = Object.assign(new Error("EACCES"), { code: "EACCES" });
    const result = loadConfigFile("secret.yaml", failingReader(error));
    assert.ok(!result.ok);
    assert.equal(result.error[0].message, "cannot read config file: permission denied");
  });
});

describe("describeConfig", () => {
  it("summarises pairs, served pair, listeners and HTTP on one line", () => {
    const config = parseOk(yaml(
      "listen: [udp://0.0.0.0:5060, tcp://0.0.0.0:5060]",
      "serve: site-b",
      "http: { listen: '[::1]:9090' }",
      ...MINIMAL,
      ...pairLines("site-b", "sip:10.1.0.11", "sip:10.1.0.12"),
    ));
    const line = describeConfig(config, "config/vipless.yaml");
    assert.equal(
      line,
      "config/vipless.yaml: OK — 2 pairs (site-a, site-b), serving site-b, listening on " +
        "udp://0.0.0.0:5060, tcp://0.0.0.0:5060, http [::1]:9090",
    );
    assert.ok(!line.includes("\n"));
    assert.ok(describeConfig(config).startsWith("OK — 2 pairs"));
  });
});

describe("warnings", () => {
  it("warns when failover.timeout would never fire before the transaction times out", () => {
    const result = parseConfig(yaml(...MINIMAL, "failover: { timeout: 40s }"), "w.yaml");
    assert.ok(result.ok);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0], /^failover\.timeout \(40s\) is not shorter than .*64\*T1/);
  });

  it("warns of TLS members while no tls:// listener would take their in-dialog requests", () => {
    const members = ["sips:10.0.0.11", "sip:10.0.0.12;transport=tls"];
    for (const backup of members) {
      const lines = [...MINIMAL];
      lines[4] = `    backup: ${backup}`;
      const result = parseConfig(yaml(...lines), "w.yaml");
      assert.ok(result.ok);
      assert.equal(result.warnings.length, 1, backup);
      assert.match(
        result.warnings[0],
        new RegExp(`^listen has no tls:// address, yet ${backup} is a TLS member: .*Record-Route`),
      );
    }
    // With a tls:// listener the same members are fine.
    const lines = [...MINIMAL];
    lines[4] = "    backup: sips:10.0.0.12";
    const result = parseConfig(
      yaml(
        "listen: [udp://0.0.0.0:5060, tls://0.0.0.0:5061]",
        "tls: { cert: /c.pem, key: /k.pem }",
        ...lines,
      ),
      "w.yaml",
    );
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, []);
  });

  it("a valid default config has no warnings", () => {
    const result = parseConfig(yaml(...MINIMAL), "w.yaml");
    assert.ok(result.ok);
    assert.deepEqual(result.warnings, []);
  });
});
