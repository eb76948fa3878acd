// What an operator reads when something is off: a listener that cannot be opened names
// its transport and port; config warnings are log events (JSON under log.format:
// json) at start and after a reload; the restart-needed warning compares with the
// sockets actually open.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import {
  configYaml,
  freshConfig,
  logEvents,
  type Proc,
  runtime,
  runVipless,
  startVipless,
  tempDir,
  type TestConfig,
  writeConfig,
} from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";

const count = (out: string, event: string) => logEvents(out).filter((e) => e.event === event);

describe(`operator-facing messages (${RUNTIME})`, () => {
  it("a SIP port in use: 'cannot start' names transport, address and port; exit 1", async () => {
    const rt = await runtime();
    for (const transport of ["udp", "tcp"] as const) {
      // Someone else holds the port (bound to 0: the kernel picks a free one).
      const squatter = transport === "udp"
        ? await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} })
        : await rt.listenTcp({ host: "127.0.0.1", port: 0 }, { onData() {} });
      const port = squatter.local.port;
      const cfg = await freshConfig();
      const yaml = configYaml(cfg).replace(
        /^listen: .*$/m,
        `listen: [${transport}://127.0.0.1:${port}]`,
      );
      const path = writeConfig(tempDir(), cfg);
      writeFileSync(path, yaml);
      try {
        const r = await runVipless(["--config", path]);
        assert.equal(r.code, 1, r.out);
        assert.match(
          r.out,
          new RegExp(
            `vipless: cannot start: SIP listener ${transport}://127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`,
          ),
        );
      } finally {
        squatter.close();
      }
    }
  });

  describe("config warnings and reloads", () => {
    let cfg: TestConfig;
    let path: string;
    let proc: Proc;
    const withWarning = (c: TestConfig) =>
      configYaml(c).replace("force_interval: 500ms", "force_interval: 2s");

    before(async () => {
      cfg = await freshConfig();
      path = writeConfig(tempDir(), cfg);
      writeFileSync(path, withWarning(cfg));
      proc = startVipless(["--config", path]);
      await proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
    });
    after(() => proc?.stop());

    it("at start, a warning is a JSON log event, and nothing is plain text", () => {
      const [w] = count(proc.output(), "config-warning");
      assert.ok(w, proc.output());
      assert.equal(w.level, "WARN");
      assert.match(String(w.warning), /^probe\.force_interval \(2s\) is slower/);
      for (const line of proc.output().split("\n").filter((l) => l.trim())) {
        assert.ok(line.startsWith("{"), `not a JSON line: ${line}`);
      }
    });

    async function reloadWith(text: string): Promise<Record<string, unknown>[]> {
      const before = proc.output().length;
      const n = count(proc.output(), "config-reloaded").length;
      writeFileSync(path, text);
      proc.kill("SIGHUP");
      const re = new RegExp(`("event":"config-reloaded"[\\s\\S]*){${n + 1}}`);
      await proc.waitForOutput(re, 10_000);
      await new Promise((r) => setTimeout(r, 100)); // the lines logged right after it
      return logEvents(proc.output().slice(before));
    }

    it("a reload logs the new file's warnings", async () => {
      const events = await reloadWith(withWarning(cfg));
      assert.equal(events.filter((e) => e.event === "config-warning").length, 1);
    });

    it("restart-needed compares with the sockets open, not with the last file", async () => {
      const moved = { ...cfg, httpPort: cfg.httpPort + 1 };
      const restart = (ev: Record<string, unknown>[]) =>
        ev.filter((e) => e.event === "config-restart-needed").map((e) => e.keys);
      assert.deepEqual(restart(await reloadWith(configYaml(moved))), [["http.listen"]]);
      // The same file again: the HTTP socket is still on the old port.
      assert.deepEqual(restart(await reloadWith(configYaml(moved))), [["http.listen"]]);
      // Back to what is open: nothing to restart for.
      assert.deepEqual(restart(await reloadWith(configYaml(cfg))), []);
    });
  });
});
