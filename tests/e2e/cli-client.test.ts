// `vipless status|switchover|maintenance` against a running vipless, and what an
// operator sees when the instance is down or the command is wrong.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { startFakePair } from "../support/fake-pair.ts";
import {
  freePort,
  type Proc,
  runVipless,
  startVipless,
  tempDir,
  type TestConfig,
  writeConfig,
} from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";

const TOKEN = { VIPLESS_TEST_TOKEN: "cli-secret" };

describe(`command-line client (${RUNTIME})`, () => {
  let primary: FakeSipServer;
  let backup: FakeSipServer;
  let proc: Proc;
  let cfg: TestConfig;
  let configPath: string;

  before(async () => {
    ({ primary, backup, cfg } = await startFakePair());
    configPath = writeConfig(tempDir(), cfg);
    proc = startVipless(["--config", configPath], TOKEN);
    await proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
    // Both members up (rise 2 at 1 s probes) before the admin actions: bounded, 15 s.
    for (let i = 0; i < 60; i++) {
      const st = await (await fetch(`http://127.0.0.1:${cfg.httpPort}/status`)).json();
      if (st.pairs[0].members.every((m: { status: string }) => m.status === "up")) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  after(async () => {
    await proc?.stop();
    primary?.stop();
    backup?.stop();
  });

  it("status prints a table found through --config; --json prints /status", async () => {
    const r = await runVipless(["status", "--config", configPath]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /PAIR\s+STATE\s+ROLE\s+MEMBER\s+HEALTH\s+ACTIVE/);
    assert.match(
      r.out,
      new RegExp(
        `site-a \\*\\s+active-primary\\s+primary\\s+sip:127\\.0\\.0\\.1:${primary.address.port}\\s+up\\s+active`,
      ),
    );
    assert.match(r.out, new RegExp(`backup\\s+sip:127\\.0\\.0\\.1:${backup.address.port}\\s+up`));
    const j = await runVipless(["status", "--json", "--http", `http://127.0.0.1:${cfg.httpPort}/`]);
    assert.equal(j.code, 0, j.out);
    assert.equal(JSON.parse(j.out).pairs[0].name, "site-a");
  });

  it("switchover and maintenance send the token from http.token_env", async () => {
    const denied = await runVipless(["switchover", "site-a", "-c", configPath]);
    assert.equal(denied.code, 2, denied.out);
    assert.match(denied.out, /needs the admin token in \$VIPLESS_TEST_TOKEN/);

    const s = await runVipless(["switchover", "site-a", "-c", configPath], TOKEN);
    assert.equal(s.code, 0, s.out);
    assert.match(
      s.out,
      new RegExp(`site-a: active-backup, active backup sip:127\\.0\\.0\\.1:${backup.address.port}`),
    );

    const wrong = await runVipless(["switchover", "site-a", "-c", configPath], {
      VIPLESS_TEST_TOKEN: "nope",
    });
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /401 missing or wrong bearer token/);

    const unknown = await runVipless(["switchover", "site-z", "-c", configPath], TOKEN);
    assert.equal(unknown.code, 1, unknown.out);
    assert.match(unknown.out, /404/);

    const on = await runVipless(
      ["maintenance", "site-a", "primary", "on", "-c", configPath],
      TOKEN,
    );
    assert.equal(on.code, 0, on.out);
    assert.match(on.out, /site-a primary: maintenance on/);
    const table = await runVipless(["status", "-c", configPath]);
    assert.match(table.out, /primary\s+\S+\s+up\s+on\b/, table.out);
    const off = await runVipless(
      ["maintenance", "site-a", "primary", "off", "-c", configPath],
      TOKEN,
    );
    assert.equal(off.code, 0, off.out);
  });

  it("an unreachable instance is one clear line and exit 1", async () => {
    const port = await freePort("tcp");
    const r = await runVipless(["status", "--http", `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1, r.out);
    assert.match(
      r.out,
      new RegExp(`cannot reach vipless at http://127\\.0\\.0\\.1:${port}: connection refused`),
    );
    assert.equal(r.out.trim().split("\n").length, 1, r.out);
  });

  it("wrong use is exit 2 with the usage", async () => {
    const r = await runVipless(["maintenance", "site-a", "primary"]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /usage: vipless maintenance PAIR primary\|backup on\|off/);
    const missing = await runVipless(["status", "-c", "/nonexistent/vipless.yaml"]);
    assert.equal(missing.code, 2, missing.out);
    assert.match(missing.out, /cannot read config file/);
  });
});
