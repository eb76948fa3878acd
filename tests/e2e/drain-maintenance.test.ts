// The operator's maintenance and drain, on a real vipless process (from source, under
// the runtime running the test) between a test UA and two fake members over UDP:
// a member put in maintenance over HTTP gets no new calls, and SIGTERM lets the calls
// in flight complete while /ready, OPTIONS and new INVITEs get 503, then exits 0.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { startFakePair } from "../support/fake-pair.ts";
import { TestUa } from "../support/test-ua.ts";
import {
  logEvents,
  optionsRequest,
  type Proc,
  startVipless,
  tempDir,
  type TestConfig,
  udpRequest,
  writeConfig,
} from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";
import { sleep, withTimeout } from "../support/wait.ts";

const TOKEN = "drain-test-token";
/** The members answer an INVITE this long after it arrives: calls are in flight meanwhile. */
const ANSWER_DELAY_MS = 2500;

/** Polls `check` every 100 ms, at most 50 times. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`never: ${what}`);
}

describe(`maintenance and drain on a running vipless (${RUNTIME})`, () => {
  let primary: FakeSipServer;
  let backup: FakeSipServer;
  let ua: TestUa;
  let proc: Proc;
  let cfg: TestConfig;
  const http = (path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${cfg.httpPort}${path}`, init);
  const admin = (method: string, path: string) =>
    http(path, { method, headers: { authorization: `Bearer ${TOKEN}` } });
  const proxy = () => ({ host: "127.0.0.1", port: cfg.sipPort });
  const invite = (n: string) =>
    ua.call(proxy(), { to: `sip:${n}@127.0.0.1:${cfg.sipPort}`, timeoutMs: 15_000 });
  const received = (s: FakeSipServer) => s.requests("INVITE").length;

  before(async () => {
    const answer = { final: 200, finalDelayMs: ANSWER_DELAY_MS };
    ({ primary, backup, cfg } = await startFakePair({ answer, extra: "drain: { timeout: 10s }" }));
    ua = await TestUa.start({ transport: "udp" });
    proc = startVipless(["--config", writeConfig(tempDir(), cfg)], { VIPLESS_TEST_TOKEN: TOKEN });
    await proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
    await until(async () => {
      const s = await (await http("/status")).json();
      return s.pairs[0].members.every((m: { status: string }) => m.status === "up");
    }, "both members up");
  });
  after(async () => {
    await proc?.stop();
    primary?.stop();
    backup?.stop();
    ua?.stop();
  });

  it("maintenance: refused without the token; the primary in maintenance switches the pair and gets no new call; DELETE switches nothing back", async () => {
    const path = "/pairs/site-a/members/primary/maintenance";
    assert.equal((await http(path, { method: "POST" })).status, 401);
    assert.equal((await admin("POST", "/pairs/nope/members/primary/maintenance")).status, 404);
    assert.equal((await admin("POST", "/pairs/site-a/members/third/maintenance")).status, 404);
    const on = await admin("POST", path);
    assert.equal(on.status, 200);
    const pair = await on.json();
    assert.equal(pair.activeRole, "backup");
    assert.deepEqual(pair.members.map((m: { maintenance: boolean }) => m.maintenance), [
      true,
      false,
    ]);
    assert.equal(pair.switchovers.at(-1).reason, "maintenance");
    const before = received(primary);
    const call = await invite("maint");
    assert.equal(call.status, 200);
    assert.equal(received(primary), before, "no new call to the member in maintenance");
    const metrics = await (await http("/metrics")).text();
    assert.match(metrics, /vipless_switchovers_total\{pair="site-a",reason="maintenance"\} 1/);
    assert.match(metrics, /vipless_member_maintenance\{pair="site-a",role="primary",[^}]*\} 1/);

    const off = await admin("DELETE", path);
    assert.equal(off.status, 200);
    const after = await off.json();
    assert.equal(after.activeRole, "backup", "sticky: no switch back");
    assert.equal(after.members[0].maintenance, false);
  });

  it("SIGTERM drains: calls in flight complete, /ready, OPTIONS and new INVITEs get 503, exit 0", async () => {
    assert.equal((await http("/ready")).status, 200);
    const seen = received(primary) + received(backup);
    const inFlight = [1, 2, 3, 4, 5].map((i) => invite(`drain${i}`));
    // Every INVITE reached a member (and is waiting for its answer) before the SIGTERM.
    await until(() => received(primary) + received(backup) >= seen + 5, "INVITEs at the members");
    const sentAt = Date.now();
    proc.kill("SIGTERM");
    await proc.waitForOutput(/"event":"draining"/);

    assert.equal((await http("/ready")).status, 503, "/ready at once");
    const options = await udpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "UDP", lp));
    assert.match(options, /^SIP\/2\.0 503 /);
    const refused = await invite("late");
    assert.equal(refused.status, 503);
    assert.match(refused.final?.get("retry-after") ?? "", /^\d+$/);
    assert.ok(
      Date.now() - sentAt < ANSWER_DELAY_MS,
      "the checks ran while the calls were still in flight",
    );

    const results = await withTimeout(Promise.all(inFlight), 15_000, "calls in flight");
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
    const exit = await withTimeout(proc.exited, 15_000, "vipless to exit");
    assert.deepEqual(exit, { code: 0, signal: null });
    const drained = logEvents(proc.output()).find((e) => e.event === "drained");
    assert.equal(drained?.left, 0, "exited because the calls were done, not at drain.timeout");
  });
});
