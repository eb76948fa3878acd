import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import {
  configYaml,
  freshConfigFile,
  logEvents,
  optionsRequest,
  type Proc,
  startVipless,
  tcpRequest,
  type TestConfig,
  udpRequest,
} from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";
import { withTimeout } from "../support/wait.ts";

describe(`vipless service from source (${RUNTIME})`, () => {
  let proc: Proc;
  let cfg: TestConfig;
  let configPath: string;
  before(async () => {
    ({ cfg, path: configPath } = await freshConfigFile());
    proc = startVipless(["--config", configPath]);
    await proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
  });
  after(() => proc?.stop());

  it("logs each listener opened and the config load as JSON events", () => {
    const events = logEvents(proc.output());
    assert.ok(events.some((e) => e.event === "config-loaded"));
    const sip = events.filter((e) => e.event === "listener-opened" && e.transport !== "http");
    assert.deepEqual(sip.map((e) => e.transport).sort(), ["tcp", "udp"]);
  });

  it("GET /health answers", async () => {
    const res = await fetch(`http://127.0.0.1:${cfg.httpPort}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.equal(body.runtime, RUNTIME);
  });

  it("GET /status lists the listeners and the pair", async () => {
    const body = await (await fetch(`http://127.0.0.1:${cfg.httpPort}/status`)).json();
    assert.deepEqual(body.listeners.sort(), [
      `tcp://127.0.0.1:${cfg.sipPort}`,
      `udp://127.0.0.1:${cfg.sipPort}`,
    ]);
    assert.equal(body.pairs[0].name, "site-a");
    assert.equal(body.pairs[0].members.length, 2);
  });

  it("answers an OPTIONS addressed to it over UDP and TCP", async () => {
    const u = await udpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "UDP", lp));
    assert.match(u, /^SIP\/2\.0 (200 OK|503 Service Unavailable)\r\n/);
    assert.match(u, /\r\nCSeq: 1 OPTIONS\r\n/);
    const t = await tcpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "TCP", lp));
    assert.match(t, /^SIP\/2\.0 (200 OK|503 Service Unavailable)\r\n/);
  });

  it("counts requests in /metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${cfg.httpPort}/metrics`)).text();
    assert.match(text, /vipless_requests_total\{method="OPTIONS"\} [1-9]/);
    assert.match(text, /process_resident_memory_bytes \d+/);
    assert.match(text, /vipless_build_info\{version="[^"]+",runtime="(bun|deno)"/);
  });

  it("SIGHUP applies a valid config and rejects an invalid one, staying up", async () => {
    writeFileSync(configPath, configYaml({ ...cfg, extra: "overload: { max_invite_rate: 50 }" }));
    proc.kill("SIGHUP");
    await proc.waitForOutput(/"event":"config-reloaded"/);
    writeFileSync(configPath, configYaml(cfg) + "bogus_key: 1\n");
    proc.kill("SIGHUP");
    await proc.waitForOutput(/"event":"config-reload-rejected"/);
    assert.match(proc.output(), /bogus_key/);
    const res = await fetch(`http://127.0.0.1:${cfg.httpPort}/health`);
    assert.equal(res.status, 200);
  });

  it("SIGTERM: exits 0 within 2 s", async () => {
    const t0 = Date.now();
    proc.kill("SIGTERM");
    const { code } = await withTimeout(proc.exited, 5000, "exit after SIGTERM");
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });
});
