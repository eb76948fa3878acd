import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BUN,
  configYaml,
  DENO,
  DENO_FLAGS,
  freePort,
  optionsRequest,
  start,
  tcpRequest,
  tempDir,
  udpRequest,
  withTimeout,
} from "../support/vipless-process.ts";

const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

async function setup() {
  const cfg = {
    sipPort: await freePort(),
    httpPort: await freePort("tcp"),
    primaryPort: await freePort(),
    backupPort: await freePort(),
    extra: "workers: 2",
  };
  const path = join(tempDir(), "vipless.yaml");
  writeFileSync(path, configYaml(cfg));
  return { cfg, path };
}

describe(`workers: 2 (${underDeno ? "deno" : "bun"})`, () => {
  // One file, both runtimes: Bun runs the workers, Deno (which cannot spread UDP over
  // processes) must say so and run one process. Each runtime checks its own behaviour.
  // (Defined per runtime rather than skipped: nothing is skipped.)
  if (!underDeno) {
    it(
      "Bun: two workers share the SIP port; each answers; SIGTERM stops them all with status 0",
      async () => {
        const { cfg, path } = await setup();
        const p = start(BUN, ["src/main.ts", "--config", path]);
        try {
          await p.waitForOutput(/"event":"listener-opened","transport":"http"/);
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
        } finally {
          if (p.child.exitCode === null) p.kill("SIGKILL");
          await p.exited;
        }
      },
    );
  }
  if (underDeno) {
    it(
      "Deno: warns that workers need Bun and runs as one process",
      async () => {
        const { cfg, path } = await setup();
        const p = start(DENO, [...DENO_FLAGS, "src/main.ts", "--config", path]);
        try {
          await p.waitForOutput(/"event":"listener-opened","transport":"http"/);
          assert.match(p.output(), /warning: workers: 2 needs Bun/);
          assert.doesNotMatch(p.output(), /worker-started/);
          const u = await udpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "UDP", lp));
          assert.match(u, /^SIP\/2\.0 (200|503) /);
          p.kill("SIGTERM");
          assert.equal((await withTimeout(p.exited, 5000, "exit")).code, 0);
        } finally {
          if (p.child.exitCode === null) p.kill("SIGKILL");
          await p.exited;
        }
      },
    );
  }
});
