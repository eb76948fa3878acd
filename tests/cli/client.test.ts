import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ClientDeps, runClient } from "../../src/cli/client.ts";
import type { ClientCommand, ClientTarget } from "../../src/cli/args.ts";

const CONFIG = `advertise: a.example.com
http: { listen: "0.0.0.0:9000", token_env: OPS_TOKEN }
pairs: [{ name: hq, primary: "sip:192.0.2.1", backup: "sip:192.0.2.2" }]
`;

function harness(env: Record<string, string> = {}, answer = () => Response.json({})) {
  const calls: Array<{ url: string; method: string; auth: string | null }> = [];
  let out = "";
  let err = "";
  const deps: ClientDeps = {
    readTextFile: (p) => {
      if (p === "ops.yaml") return CONFIG;
      throw Object.assign(new Error("no such file"), { code: "ENOENT" });
    },
    env: (n) => env[n],
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      calls.push({ url, method: init?.method ?? "GET", auth: headers.get("authorization") });
      return Promise.resolve(answer());
    },
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  };
  return { deps, calls, out: () => out, err: () => err };
}

const target = (o: Partial<ClientTarget> = {}): ClientTarget => ({
  configPath: "ops.yaml",
  configGiven: true,
  http: null,
  ...o,
});

describe("the command-line client", () => {
  it("finds the instance in http.listen (a wildcard on loopback) and the token in http.token_env", async () => {
    const h = harness({ OPS_TOKEN: "t0k" });
    const cmd: ClientCommand = {
      kind: "maintenance",
      pair: "hq",
      role: "backup",
      on: false,
      force: true,
    };
    assert.equal(await runClient(cmd, target(), h.deps), 0, h.err());
    assert.deepEqual(h.calls, [{
      url: "http://127.0.0.1:9000/pairs/hq/members/backup/maintenance?force=1",
      method: "DELETE",
      auth: "Bearer t0k",
    }]);
    assert.equal(h.out(), "hq backup: maintenance off\n");
  });

  it("--http without a config file uses VIPLESS_ADMIN_TOKEN; status sends no token", async () => {
    const h = harness({ VIPLESS_ADMIN_TOKEN: "x" });
    const t = target({
      configPath: "config/vipless.yaml",
      configGiven: false,
      http: "http://h:1/",
    });
    const sw: ClientCommand = { kind: "switchover", pair: "a b", force: false };
    assert.equal(await runClient(sw, t, h.deps), 0, h.err());
    assert.deepEqual(h.calls[0], {
      url: "http://h:1/pairs/a%20b/switchover",
      method: "POST",
      auth: "Bearer x",
    });
    const s = harness({}, () => Response.json({ pairs: [] }));
    assert.equal(await runClient({ kind: "status", json: true }, t, s.deps), 0);
    assert.equal(s.calls[0]!.auth, null);
  });

  it("a config named with -c must load: exit 2 with its error", async () => {
    const h = harness();
    const code = await runClient(
      { kind: "status", json: false },
      target({ configPath: "gone.yaml" }),
      h.deps,
    );
    assert.equal(code, 2);
    assert.match(h.err(), /gone\.yaml: cannot read config file/);
    assert.equal(h.calls.length, 0);
  });

  it("a refusal prints the instance's error and exits 1", async () => {
    const h = harness(
      { OPS_TOKEN: "t" },
      () => Response.json({ error: "backup is down" }, { status: 409 }),
    );
    const code = await runClient(
      { kind: "switchover", pair: "hq", force: false },
      target(),
      h.deps,
    );
    assert.equal(code, 1);
    assert.match(
      h.err(),
      /POST http:\/\/127\.0\.0\.1:9000\/pairs\/hq\/switchover: 409 backup is down/,
    );
  });
});
