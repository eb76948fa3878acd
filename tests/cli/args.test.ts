import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCommandLine } from "../../src/cli/args.ts";

const noEnv = () => undefined;

describe("command line", () => {
  it("runs with config/vipless.yaml by default", () => {
    assert.deepEqual(parseCommandLine([], noEnv), {
      kind: "run",
      configPath: "config/vipless.yaml",
      logLevel: null,
    });
  });
  it("takes the config path from $VIPLESS_CONFIG, and --config over it", () => {
    const env = (n: string) => (n === "VIPLESS_CONFIG" ? "/etc/vipless.yaml" : undefined);
    assert.equal(
      (parseCommandLine([], env) as { configPath: string }).configPath,
      "/etc/vipless.yaml",
    );
    assert.equal(
      (parseCommandLine(["--config", "x.yaml"], env) as { configPath: string }).configPath,
      "x.yaml",
    );
  });
  it("check-config with --config", () => {
    assert.deepEqual(parseCommandLine(["check-config", "--config", "a.yaml"], noEnv), {
      kind: "check-config",
      configPath: "a.yaml",
    });
  });
  it("--log-level is validated", () => {
    assert.deepEqual(parseCommandLine(["--log-level", "debug"], noEnv), {
      kind: "run",
      configPath: "config/vipless.yaml",
      logLevel: "debug",
    });
    const bad = parseCommandLine(["--log-level", "loud"], noEnv);
    assert.equal(bad.kind, "error");
    assert.match((bad as { message: string }).message, /must be one of/);
  });
  it("--version and --help", () => {
    assert.equal(parseCommandLine(["--version"], noEnv).kind, "version");
    assert.equal(parseCommandLine(["-h"], noEnv).kind, "help");
  });
  it("unknown options and commands are usage errors", () => {
    assert.equal(parseCommandLine(["--conifg", "x"], noEnv).kind, "error");
    assert.equal(parseCommandLine(["serve"], noEnv).kind, "error");
  });
});
