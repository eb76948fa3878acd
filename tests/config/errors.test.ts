import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatConfigError } from "../../src/config/index.ts";
import { expectError, FILE, MINIMAL, pairLines, parseErrors, withBackup, yaml } from "./helpers.ts";

describe("errors point at line and column", () => {
  it("unknown top-level key: at the key, with the close known key", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probes:", "  interval: 1s"));
    assert.equal(errors.length, 1);
    expectError(errors, 6, 1, /^unknown key 'probes' \(did you mean 'probe'\?\)$/);
  });

  it("unknown nested key: at the key, indented", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probe:", "  interval: 1s", "  timout: 200ms"));
    expectError(errors, 8, 3, /^unknown key 'timout' \(did you mean 'timeout'\?\)$/);
  });

  it("unknown key inside a pair, and no hint when nothing is close", () => {
    const errors = parseErrors(yaml(...MINIMAL, "    weight: 10"));
    const error = expectError(errors, 6, 5, /^unknown key 'weight'$/);
    assert.ok(!error.message.includes("did you mean"));
  });

  it("wrong type: at the value", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probe:", "  failures: many"));
    expectError(errors, 7, 13, /probe\.failures: expected a number, got 'many'/);
  });

  it("probe.rise below 1: at the value", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probe:", "  rise: 0"));
    expectError(errors, 7, 9, /probe\.rise/);
  });

  it("a mapping where a list belongs", () => {
    const errors = parseErrors(yaml("advertise: p", "pairs:", "  name: a"));
    expectError(errors, 3, 3, /pairs: expected a list/);
  });

  it("bare number as a duration: at the value, with the unit hint", () => {
    const errors = parseErrors(yaml(...MINIMAL, "failover:", "  timeout: 1"));
    expectError(errors, 7, 12, /durations need a unit, e\.g\. 500ms or 1s/);
  });

  it("malformed duration text", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probe: { interval: 1 sec }"));
    expectError(errors, 6, 20, /probe\.interval: '1 sec' is not a duration/);
  });

  it("duration out of bounds names the bound", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probe: { interval: 0s }"));
    expectError(errors, 6, 20, /probe\.interval: must be at least 100ms/);
  });

  it("bad member URI: at the value", () => {
    const errors = parseErrors(withBackup("http://10.0.0.12"));
    expectError(errors, 5, 13, /pairs\[0\]\.backup: 'http:\/\/10\.0\.0\.12' is not a SIP URI/);
  });

  it("bad listen URI inside a flow list: at the item", () => {
    const errors = parseErrors(yaml("listen: [udp://0.0.0.0:5060, smtp://0.0.0.0:25]", ...MINIMAL));
    expectError(errors, 1, 30, /listen\[1\]: unsupported transport 'smtp'/);
  });

  it("a tls listen address without tls.cert and tls.key", () => {
    const errors = parseErrors(yaml("listen:", "  - tls://0.0.0.0:5061", ...MINIMAL));
    expectError(
      errors,
      2,
      5,
      /tls:\/\/0\.0\.0\.0:5061 needs a certificate: set tls\.cert and tls\.key/,
    );
  });

  it("port out of range", () => {
    const errors = parseErrors(yaml("listen: udp://0.0.0.0:0", ...MINIMAL));
    expectError(errors, 1, 9, /port must be 1-65535, got 0/);
  });

  it("serve naming a missing pair: at the value, with the pairs listed", () => {
    const errors = parseErrors(yaml("serve: site-b", ...MINIMAL));
    expectError(errors, 1, 8, /serve names no pair: 'site-b'.*\(pairs: site-a\)/);
  });

  it("duplicate pair name: at the second name", () => {
    const second = pairLines("site-a", "sip:10.0.0.21", "sip:10.0.0.22"); // lines 6-8
    const errors = parseErrors(yaml(...MINIMAL, ...second, "serve: site-a"));
    assert.equal(errors.length, 1);
    expectError(errors, 6, 11, /duplicate pair name 'site-a'/);
  });

  it("member in two pairs: at the second occurrence", () => {
    const second = pairLines("site-b", "sip:10.0.0.21", "sip:10.0.0.12"); // lines 6-8
    const errors = parseErrors(yaml(...MINIMAL, ...second, "serve: site-a"));
    assert.equal(errors.length, 1);
    expectError(errors, 8, 13, /already the backup of pair 'site-a'/);
  });

  it("primary and backup the same server (default port written out or not)", () => {
    const errors = parseErrors(withBackup("sip:10.0.0.11;transport=tcp"));
    expectError(errors, 5, 13, /same server as the primary/);
  });

  it("missing required key: at the mapping it is missing from", () => {
    const errors = parseErrors(yaml(
      "advertise: p",
      "pairs:",
      "  - name: a",
      "    primary: sip:10.0.0.11",
    ));
    assert.equal(errors.length, 1);
    expectError(errors, 3, 5, /^missing required key 'backup'$/);
  });

  it("missing required top-level key: at the document's mapping", () => {
    const errors = parseErrors(yaml("# a comment first", ...MINIMAL.slice(1)));
    expectError(errors, 2, 1, /^missing required key 'advertise'$/);
  });

  it("serve is required once there are two pairs", () => {
    const second = pairLines("site-b", "sip:10.0.0.21", "sip:10.0.0.22");
    const errors = parseErrors(yaml(...MINIMAL, ...second));
    expectError(errors, 1, 1, /missing required key 'serve'.*one of site-a, site-b/);
  });

  it("probe.timeout not less than probe.interval: at the timeout", () => {
    const errors = parseErrors(yaml(...MINIMAL, "probe:", "  interval: 1s", "  timeout: 1s"));
    expectError(errors, 8, 12, /probe\.timeout \(1s\) must be less than probe\.interval \(1s\)/);
  });

  it("enum typo gets a suggestion", () => {
    const errors = parseErrors(yaml(...MINIMAL, "log: { level: warn }"));
    expectError(errors, 6, 15, /expected one of trace, .*got 'warn' \(did you mean 'warning'\?\)/);
  });

  it("empty value where one is required: at the key", () => {
    const errors = parseErrors(yaml("advertise:", ...MINIMAL.slice(1)));
    expectError(errors, 1, 1, /advertise: expected .*got an empty value/);
  });

  it("YAML syntax error comes out with its position", () => {
    const errors = parseErrors(yaml("advertise: p", "pairs:", "\t- name: a"));
    expectError(errors, 3, 1, /tabs/i);
  });

  it("duplicate YAML key is a syntax error at the second key", () => {
    const errors = parseErrors(yaml(...MINIMAL, "advertise: q"));
    expectError(errors, 6, 1, /already set above/);
  });

  it("empty file", () => {
    const errors = parseErrors("# nothing here\n");
    expectError(errors, 1, 1, /empty/);
  });

  it("unquoted IPv6 listen address in a flow list gets a quoting hint", () => {
    const errors = parseErrors(yaml("listen: [udp://[::1]:5060]", ...MINIMAL));
    assert.ok(errors.some((e) => e.line === 1 && /quote IPv6/.test(e.message)));
  });
});

describe("every error is reported", () => {
  it("reports all errors of a file in file order", () => {
    const errors = parseErrors(yaml(
      "advertise: 0.0.0.0", // 1
      "serve: site-z", // 2
      "probes: {}", // 3
      "probe:", // 4
      "  interval: 10", // 5
      "log: { level: loud }", // 6
      "pairs:", // 7
      "  - name: site-a", // 8
      "    primary: sip:10.0.0.11:99999", // 9
      "    backup: sip:10.0.0.12", // 10
    ));
    assert.deepEqual(errors.map((e) => [e.line, e.col]), [
      [1, 12],
      [2, 8],
      [3, 1],
      [5, 13],
      [6, 15],
      [9, 14],
    ]);
  });

  it("reports each unknown key of one mapping separately", () => {
    const errors = parseErrors(yaml(...MINIMAL, "http:", "  port: 80", "  host: x"));
    expectError(errors, 7, 3, /unknown key 'port'/);
    expectError(errors, 8, 3, /unknown key 'host'/);
  });
});

describe("formatConfigError", () => {
  it("gives FILE:LINE:COL: message", () => {
    const [error] = parseErrors(yaml(...MINIMAL, "probes: {}"));
    assert.equal(
      formatConfigError(error),
      `${FILE}:6:1: unknown key 'probes' (did you mean 'probe'?)`,
    );
  });

  it("gives FILE: message when there is no position", () => {
    const error = { file: "x.yaml", line: null, col: null, message: "cannot read config file: x" };
    assert.equal(formatConfigError(error), "x.yaml: cannot read config file: x");
  });
});
