import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeConfig, loadConfigFile } from "../../src/config/index.ts";

// Paths are relative to the repository root, wherever the runner was started.
const read = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url).href), "utf8");

describe("shipped config files", () => {
  it("config/vipless.yaml starts without root on loopback with the demo pair", () => {
    const result = loadConfigFile("config/vipless.yaml", read);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
    assert.deepEqual(result.warnings, []);
    const { config } = result;
    assert.deepEqual(config.listen.map((l) => l.uri), [
      "udp://127.0.0.1:5060",
      "tcp://127.0.0.1:5060",
    ]);
    assert.deepEqual(config.http.listen, { host: "127.0.0.1", port: 8080 });
    assert.equal(config.serve, "site-a");
    assert.deepEqual(config.pairs.map((p) => [p.name, p.primary.uri, p.backup.uri]), [
      ["site-a", "sip:127.0.0.1:5070", "sip:127.0.0.1:5080"],
    ]);
    assert.ok(config.listen.every((l) => l.port >= 1024), "no privileged ports");
  });

  it("config/examples/single-site.yaml is valid", () => {
    const result = loadConfigFile("config/examples/single-site.yaml", read);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
    assert.equal(result.config.pairs.length, 1);
    assert.equal(result.config.serve, result.config.pairs[0].name);
  });

  it("config/examples/multi-site.yaml is valid, with a TCP pair", () => {
    const result = loadConfigFile("config/examples/multi-site.yaml", read);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
    assert.equal(
      describeConfig(result.config, "config/examples/multi-site.yaml"),
      "config/examples/multi-site.yaml: OK — 2 pairs (site-a, site-b), serving site-a, " +
        "listening on udp://0.0.0.0:5060, tcp://0.0.0.0:5060, http 127.0.0.1:8080",
    );
    assert.equal(result.config.pairs[1].primary.transport, "tcp");
  });
});
