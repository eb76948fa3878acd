import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUN, DENO, freshConfigFile, ROOT, run, start } from "../support/vipless-process.ts";
import { optionsRequest, tcpRequest, tempDir, udpRequest } from "../support/vipless-process.ts";
import { withTimeout } from "../support/wait.ts";

/** The artifacts `npm run build` makes, and how an operator runs each. */
const artifacts: Array<{ name: string; cmd: string; args: string[] }> = [
  { name: "dist/vipless (single executable)", cmd: join(ROOT, "dist/vipless"), args: [] },
  {
    name: "dist/vipless.js under deno run",
    cmd: DENO,
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--unstable-net",
      "dist/vipless.js",
    ],
  },
];

describe("built artifacts, end to end", () => {
  before(async () => {
    const r = await run(BUN, ["build.ts"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /dist\/vipless +\d+(\.\d+)? MiB/);
    assert.match(r.out, /dist\/vipless\.js +\d+(\.\d+)? MiB/);
  });

  for (const a of artifacts) {
    it(`${a.name}: /health, OPTIONS over UDP and TCP, SIGTERM exits 0`, async () => {
      assert.ok(existsSync(join(ROOT, "dist/vipless")));
      const { cfg, path } = await freshConfigFile();
      const p = start(a.cmd, [...a.args, "--config", path]);
      try {
        await p.waitForOutput(/"event":"listener-opened","transport":"http"/);
        const health = await (await fetch(`http://127.0.0.1:${cfg.httpPort}/health`)).json();
        assert.equal(health.status, "ok");
        const u = await udpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "UDP", lp));
        assert.match(u, /^SIP\/2\.0 (200|503) /);
        const t = await tcpRequest(cfg.sipPort, (lp) => optionsRequest(cfg.sipPort, "TCP", lp));
        assert.match(t, /^SIP\/2\.0 (200|503) /);
        p.kill("SIGTERM");
        const { code } = await withTimeout(p.exited, 5000, "exit after SIGTERM");
        assert.equal(code, 0, p.output());
      } finally {
        await p.stop();
      }
    });
  }

  it("the single executable ignores a stray .env and bunfig.toml in its working directory", async () => {
    const dir = tempDir();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, ".env"), "VIPLESS_CONFIG=/nonexistent-from-dotenv.yaml\n");
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./does-not-exist.ts"]\n');
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(join(ROOT, "dist/vipless"), ["check-config"], {
      cwd: dir,
      encoding: "utf8",
    });
    // Without a .env, the default path config/vipless.yaml is looked up (and is missing here).
    assert.equal(r.status, 2);
    assert.match(r.stderr, /config\/vipless\.yaml: cannot read config file/);
    assert.doesNotMatch(r.stderr, /nonexistent-from-dotenv|does-not-exist/);
  });
});
