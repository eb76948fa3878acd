import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runVipless as vipless, tempDir } from "../support/vipless-process.ts";

describe("command line and exit codes", () => {
  it("--version prints the version and exits 0", async () => {
    const r = await vipless(["--version"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^vipless \d+\.\d+\.\d+ \((bun|deno) /);
  });
  it("--help prints the usage and exits 0", async () => {
    const r = await vipless(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /vipless check-config/);
  });
  it("an unknown option is a usage error: exit 2", async () => {
    const r = await vipless(["--bogus"]);
    assert.equal(r.code, 2);
    assert.match(r.out, /Usage:/);
  });
  it("check-config on the shipped config: exit 0 and a one-line summary", async () => {
    const r = await vipless(["check-config", "--config", "config/vipless.yaml"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out.trim(), /^config\/vipless\.yaml: OK/);
    assert.equal(r.out.trim().split("\n").length, 1);
  });
  it("check-config on a broken file: every error as file:line:col, exit 2", async () => {
    const dir = tempDir();
    const file = join(dir, "broken.yaml");
    writeFileSync(
      file,
      "advertise: proxy.example.com\nserve: site-a\nprobes:\n  interval: 1s\npairs:\n  - name: site-a\n    primary: sip:10.0.0.1\n    backup: http://x\n",
    );
    const r = await vipless(["check-config", "--config", file]);
    assert.equal(r.code, 2);
    const lines = r.out.trim().split("\n");
    assert.ok(lines.length >= 2, r.out);
    assert.ok(lines.some((l) => l.startsWith(`${file}:3:1: `) && /probes/.test(l)), r.out);
    assert.ok(lines.some((l) => l.startsWith(`${file}:8:13: `)), r.out);
  });
  it("check-config warns of a TLS member without a tls:// listener, exit 0", async () => {
    const file = join(tempDir(), "tls-member.yaml");
    writeFileSync(
      file,
      "advertise: proxy.example.com\npairs:\n  - name: site-a\n    primary: sips:10.0.0.1\n    backup: sip:10.0.0.2\n",
    );
    const r = await vipless(["check-config", "--config", file]);
    assert.equal(r.code, 0, r.out);
    assert.match(
      r.out,
      new RegExp(`${file}: warning: listen has no tls:// address, yet sips:10\\.0\\.0\\.1`),
    );
  });
  it("VIPLESS_CONFIG names the file; a missing one is a one-line error, exit 2", async () => {
    const r = await vipless(["check-config"], { VIPLESS_CONFIG: "/nonexistent/vipless.yaml" });
    assert.equal(r.code, 2);
    assert.equal(r.out.trim().split("\n").length, 1, r.out);
    assert.match(r.out, /^\/nonexistent\/vipless\.yaml: cannot read config file/);
    assert.doesNotMatch(r.out, /\bat \S+:\d+:\d+/); // no stack trace
  });
});
