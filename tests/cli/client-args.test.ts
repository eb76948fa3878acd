import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCommandLine, USAGE } from "../../src/cli/args.ts";

const noEnv = () => undefined;
const parse = (...argv: string[]) => parseCommandLine(argv, noEnv);

describe("client commands on the command line", () => {
  it("status, with --http, --json and -c", () => {
    assert.deepEqual(parse("status"), {
      kind: "client",
      command: { kind: "status", json: false },
      target: { configPath: "config/vipless.yaml", configGiven: false, http: null },
    });
    assert.deepEqual(parse("status", "--json", "--http", "http://10.0.0.5:8080", "-c", "a.yaml"), {
      kind: "client",
      command: { kind: "status", json: true },
      target: { configPath: "a.yaml", configGiven: true, http: "http://10.0.0.5:8080" },
    });
  });

  it("switchover PAIR [--force] and maintenance PAIR ROLE on|off", () => {
    const s = parse("switchover", "site-a", "--force");
    assert.deepEqual(s.kind === "client" && s.command, {
      kind: "switchover",
      pair: "site-a",
      force: true,
    });
    const m = parse("maintenance", "site-b", "backup", "off");
    assert.deepEqual(m.kind === "client" && m.command, {
      kind: "maintenance",
      pair: "site-b",
      role: "backup",
      on: false,
      force: false,
    });
  });

  it("wrong use is a usage error naming what is wrong", () => {
    const cases: Array<[string[], RegExp]> = [
      [["switchover"], /usage: vipless switchover PAIR/],
      [["maintenance", "site-a", "primary"], /usage: vipless maintenance/],
      [["maintenance", "site-a", "master", "on"], /primary\|backup/],
      [["maintenance", "site-a", "primary", "yes"], /on\|off/],
      [["status", "extra"], /takes no arguments/],
      [["status", "--force"], /--force applies to switchover and maintenance only/],
      [["switchover", "a", "--json"], /--json applies to status only/],
      [["status", "--http", "localhost:8080"], /--http must be a URL/],
      [["--json"], /--json applies to status, switchover and maintenance only/],
      [["status", "--log-level", "debug"], /--log-level does not apply to status/],
    ];
    for (const [argv, re] of cases) {
      const c = parseCommandLine(argv, noEnv);
      assert.equal(c.kind, "error", argv.join(" "));
      assert.match((c as { message: string }).message, re, argv.join(" "));
    }
  });

  it("--help names the short flags, the client commands and every exit status", () => {
    for (const s of ["-c, --config", "-V | --version", "-h | --help", "vipless status"]) {
      assert.ok(USAGE.includes(s), s);
    }
    assert.match(USAGE, /vipless switchover PAIR/);
    assert.match(USAGE, /vipless maintenance PAIR primary\|backup on\|off/);
    assert.match(USAGE, /0 on success; 1 when/);
    assert.match(USAGE, /2 on a usage or\s+configuration error/);
  });
});
