// The package an operator installs: the systemd unit (checked by systemd-analyze when
// it is installed) and the tarball `npm run package` writes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { VERSION } from "../../src/version.ts";
import { BUN, ROOT, run, tempDir } from "../support/vipless-process.ts";

const UNIT = readFileSync(join(ROOT, "deploy/vipless.service"), "utf8");
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const seconds = (v: string) => Number(/^(\d+)s?$/.exec(v)?.[1] ?? NaN);

describe("deploy/vipless.service", () => {
  it("reloads with SIGHUP, stops with SIGTERM after longer than drain.timeout, 65536 files", () => {
    const lines = UNIT.split("\n").map((l) => l.trim());
    assert.ok(lines.includes("ExecReload=/bin/kill -HUP $MAINPID"));
    assert.ok(lines.includes("KillSignal=SIGTERM"));
    assert.ok(lines.includes("LimitNOFILE=65536"));
    const parsed = parseConfig(
      "advertise: a.example.com\npairs: [{name: p, primary: sip:192.0.2.1, backup: sip:192.0.2.2}]\n",
      "x.yaml",
    );
    assert.ok(parsed.ok);
    const drainS = parsed.config.drain.timeout / 1000;
    const stop = seconds(/^TimeoutStopSec=(.*)$/m.exec(UNIT)?.[1] ?? "");
    assert.ok(stop >= drainS + 2, `TimeoutStopSec ${stop}s, drain.timeout ${drainS}s`);
    for (const k of ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes"]) {
      assert.ok(lines.includes(k), k);
    }
  });

  const noVerify = has("systemd-analyze") ? false : "systemd-analyze is not installed";
  if (noVerify) console.log(`systemd-analyze verify skipped: ${noVerify}`);
  it("passes systemd-analyze verify", { skip: noVerify }, () => {
    // verify wants the executables to exist: point the unit at a stand-in.
    const dir = tempDir();
    const stand = join(dir, "vipless");
    writeFileSync(stand, "#!/bin/sh\nexit 0\n");
    chmodSync(stand, 0o755);
    const unit = join(dir, "vipless.service");
    writeFileSync(unit, UNIT.replaceAll("/usr/local/bin/vipless", stand));
    const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.equal(r.stderr.trim(), "", r.stderr);
  });
});

describe("npm run package", () => {
  it("writes dist/vipless-VERSION-linux-x64.tar.gz with binary, config, unit, README, LICENSE", async () => {
    // The suite may run this file before any other has built dist/: build it here then.
    if (!existsSync(join(ROOT, "dist/vipless"))) {
      const built = await run(BUN, ["build.ts"]);
      assert.equal(built.code, 0, built.out);
    }
    const r = await run(BUN, ["scripts/package.ts"]);
    assert.equal(r.code, 0, r.out);
    const name = `vipless-${VERSION}-linux-x64`;
    const archive = join(ROOT, "dist", `${name}.tar.gz`);
    assert.ok(existsSync(archive), r.out);
    const list = spawnSync("tar", ["-tvzf", archive], { encoding: "utf8" });
    assert.equal(list.status, 0, list.stderr);
    const entries = list.stdout.trim().split("\n");
    const names = entries.map((l) => l.split(/\s+/).pop());
    for (const f of ["vipless", "vipless.yaml", "vipless.service", "README.md", "LICENSE"]) {
      assert.ok(names.includes(`${name}/${f}`), `${f} in ${names.join(" ")}`);
    }
    const binary = entries.find((l) => l.endsWith(`${name}/vipless`))!;
    assert.match(binary, /^-rwx/, "the binary is executable");
    // The example config in the package is valid.
    const x = spawnSync("tar", ["-xzOf", archive, `${name}/vipless.yaml`], { encoding: "utf8" });
    assert.ok(parseConfig(x.stdout, "vipless.yaml").ok);
  });
});
