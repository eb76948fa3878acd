import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { freshConfigFile, type Proc, startVipless } from "../support/vipless-process.ts";
import {
  optionsRequest,
  tcpRequest,
  type TestConfig,
  udpRequest,
} from "../support/vipless-process.ts";
import { RUNTIME, underDeno } from "../support/current-runtime.ts";
import { withTimeout } from "../support/wait.ts";

/** Runs `body` against vipless from source with `workers: 2`, once its HTTP listener is open. */
async function withWorkers(body: (p: Proc, cfg: TestConfig) => Promise<void>): Promise<void> {
  const { cfg, path } = await freshConfigFile({ extra: "workers: 2" });
  const p = startVipless(["--config", path]);
  try {
    await p.waitForOutput(/"event":"listener-opened","transport":"http"/);
    await body(p, cfg);
  } finally {
    await p.stop();
  }
}

describe(`workers: 2 (${RUNTIME})`, () => {
  // One file, both runtimes: Bun runs the workers, Deno (which cannot spread UDP over
  // processes) must say so and run one process. Each runtime checks its own behaviour.
  // (Defined per runtime rather than skipped: nothing is skipped.)
  if (!underDeno) {
    it(
      "Bun: two workers share the SIP port; each answers; SIGTERM stops them all with status 0",
      () =>
        withWorkers(async (p, cfg) => {
          const started = () => (p.output().match(/"event":"worker-started"/g) ?? []).length;
          assert.equal(started(), 2, p.output());
          // Both workers opened the shared listeners.
          await p.waitForOutput(/(?:"event":"listener-opened","transport":"udp"[^\n]*\n[^]*){2}/);
          // Many sources: the kernel spreads them over the workers; every one is answered.
          for (let i = 0; i < 8; i++) {
            const u = await udpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "UDP", lp));
            assert.match(u, /^SIP\/2\.0 (200|503) /);
          }
          const t = await tcpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "TCP", lp));
          assert.match(t, /^SIP\/2\.0 (200|503) /);
          const health = await (await fetch(`http://127.0.0.1:${cfg.httpPort}/health`)).json();
          assert.equal(health.status, "ok");
          p.kill("SIGTERM");
          const { code } = await withTimeout(p.exited, 5000, "exit after SIGTERM");
          assert.equal(code, 0, p.output());
          assert.equal((p.output().match(/"event":"stopped"/g) ?? []).length, 2, p.output());
        }),
    );
  }
  if (underDeno) {
    it(
      "Deno: warns that workers need Bun and runs as one process",
      () =>
        withWorkers(async (p, cfg) => {
          assert.match(p.output(), /warning: workers: 2 needs Bun/);
          assert.doesNotMatch(p.output(), /worker-started/);
          const u = await udpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "UDP", lp));
          assert.match(u, /^SIP\/2\.0 (200|503) /);
          p.kill("SIGTERM");
          assert.equal((await withTimeout(p.exited, 5000, "exit")).code, 0);
        }),
    );
  }
});
