import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHttpApp, type HttpDeps } from "../../src/http/app.ts";

function deps(over: Partial<HttpDeps> = {}): HttpDeps {
  return {
    version: "1.2.3",
    runtime: "bun",
    startedAtMs: 1_000_000,
    now: () => 1_065_500,
    ready: () => true,
    status: () => ({ pairs: [{ name: "site-a", state: "unknown" }] }),
    metrics: () => "vipless_build_info 1\n",
    adminToken: () => "s3cret",
    switchover: (pair) =>
      pair === "site-a"
        ? { ok: true, status: { name: "site-a", state: "active-backup" } }
        : { ok: false, code: "unknown-pair", message: `no pair ${pair}` },
    maintenance: (pair, role, on) =>
      pair === "site-a"
        ? { ok: true, status: { name: "site-a", role, maintenance: on } }
        : { ok: false, code: "unknown-pair", message: `no pair ${pair}` },
    ...over,
  };
}

const post = (path: string, token?: string) =>
  new Request(`http://x${path}`, {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

describe("HTTP endpoints", () => {
  it("GET /health reports status, version, runtime and uptime", async () => {
    const res = await createHttpApp(deps()).fetch(new Request("http://x/health"));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      status: "ok",
      version: "1.2.3",
      runtime: "bun",
      uptime_s: 65,
    });
  });
  it("GET /ready is 200 or 503", async () => {
    assert.equal((await createHttpApp(deps()).fetch(new Request("http://x/ready"))).status, 200);
    const res = await createHttpApp(deps({ ready: () => false })).fetch(
      new Request("http://x/ready"),
    );
    assert.equal(res.status, 503);
  });
  it("GET /status is the snapshot as JSON", async () => {
    const res = await createHttpApp(deps()).fetch(new Request("http://x/status"));
    assert.deepEqual(await res.json(), { pairs: [{ name: "site-a", state: "unknown" }] });
  });
  it("GET /metrics is Prometheus text", async () => {
    const res = await createHttpApp(deps()).fetch(new Request("http://x/metrics"));
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.equal(await res.text(), "vipless_build_info 1\n");
  });
  it("switchover needs the bearer token: 401 without or wrong, 403 with none configured", async () => {
    const app = createHttpApp(deps());
    assert.equal((await app.fetch(post("/pairs/site-a/switchover"))).status, 401);
    assert.equal((await app.fetch(post("/pairs/site-a/switchover", "nope"))).status, 401);
    const ok = await app.fetch(post("/pairs/site-a/switchover", "s3cret"));
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { name: "site-a", state: "active-backup" });
    assert.equal((await app.fetch(post("/pairs/nope/switchover", "s3cret"))).status, 404);
    const off = createHttpApp(deps({ adminToken: () => null }));
    assert.equal((await off.fetch(post("/pairs/site-a/switchover", "s3cret"))).status, 403);
  });
  it("switchover refused when the other member is down is 409; force is passed on", async () => {
    let forced: boolean | null = null;
    const app = createHttpApp(deps({
      switchover: (_p, force) => {
        forced = force;
        return force
          ? { ok: true, status: {} }
          : { ok: false, code: "other-down", message: "backup is down" };
      },
    }));
    assert.equal((await app.fetch(post("/pairs/site-a/switchover", "s3cret"))).status, 409);
    assert.equal((await app.fetch(post("/pairs/site-a/switchover?force=1", "s3cret"))).status, 200);
    assert.equal(forced, true);
  });
  it("maintenance: POST starts it, DELETE ends it, with the switchover's token rules", async () => {
    const path = "/pairs/site-a/members/backup/maintenance";
    const call = (method: string, p: string, token?: string) =>
      new Request(`http://x${p}`, {
        method,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    const app = createHttpApp(deps());
    assert.equal((await app.fetch(call("POST", path))).status, 401);
    assert.equal((await app.fetch(call("DELETE", path, "nope"))).status, 401);
    const on = await app.fetch(call("POST", path, "s3cret"));
    assert.equal(on.status, 200);
    assert.deepEqual(await on.json(), { name: "site-a", role: "backup", maintenance: true });
    const off = await app.fetch(call("DELETE", path, "s3cret"));
    assert.deepEqual(await off.json(), { name: "site-a", role: "backup", maintenance: false });
    assert.equal(
      (await app.fetch(call("POST", "/pairs/nope/members/backup/maintenance", "s3cret"))).status,
      404,
    );
    assert.equal(
      (await app.fetch(call("POST", "/pairs/site-a/members/third/maintenance", "s3cret"))).status,
      404,
    );
    assert.equal((await app.fetch(call("GET", path, "s3cret"))).status, 404);
    const none = createHttpApp(deps({ adminToken: () => null }));
    assert.equal((await none.fetch(call("POST", path, "s3cret"))).status, 403);
    let forced: boolean | null = null;
    const refusing = createHttpApp(deps({
      maintenance: (_p, _r, _on, force) => {
        forced = force;
        return force
          ? { ok: true, status: {} }
          : { ok: false, code: "other-down", message: "the primary is down" };
      },
    }));
    assert.equal((await refusing.fetch(call("POST", path, "s3cret"))).status, 409);
    assert.equal((await refusing.fetch(call("POST", `${path}?force=1`, "s3cret"))).status, 200);
    assert.equal(forced, true);
  });
  it("unknown paths are 404 JSON", async () => {
    const res = await createHttpApp(deps()).fetch(new Request("http://x/nope"));
    assert.equal(res.status, 404);
  });
});
