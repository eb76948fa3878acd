/**
 * The operator's HTTP interface (Hono): liveness, readiness, status, metrics and
 * admin actions. It only reads snapshots through `HttpDeps`; it owns no state.
 */
import { type Context, Hono } from "hono";
import type { RuntimeName } from "../runtime/types.ts";
import { prefersHtml } from "./accept.ts";
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from "./status-page.ts";

export type SwitchoverResult =
  | { ok: true; status: unknown }
  | { ok: false; code: "unknown-pair" | "other-down"; message: string };

export interface HttpDeps {
  version: string;
  runtime: RuntimeName;
  startedAtMs: number;
  now(): number;
  /** True while the served pair has an active member. */
  ready(): boolean;
  status(): unknown;
  metrics(): string;
  /** The admin bearer token, or null when none is configured (admin calls get 403). */
  adminToken(): string | null;
  switchover(pair: string, force: boolean): SwitchoverResult;
  /** Puts a member in maintenance (`on`) or ends it; the answer is shaped as a switchover's. */
  maintenance(
    pair: string,
    role: "primary" | "backup",
    on: boolean,
    force: boolean,
  ): SwitchoverResult;
}

/** Compares in time independent of where the first difference is. */
function sameToken(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();

  app.get("/health", (c) =>
    c.json({
      status: "ok",
      version: deps.version,
      runtime: deps.runtime,
      uptime_s: Math.floor((deps.now() - deps.startedAtMs) / 1000),
    }));

  app.get("/ready", (c) => {
    const ready = deps.ready();
    return c.json({ ready }, ready ? 200 : 503);
  });

  app.get("/status", (c) => c.json(deps.status()));

  // A browser gets the live status page; curl and scripts get the /status JSON.
  app.get("/", (c) => {
    c.header("vary", "accept");
    if (!prefersHtml(c.req.header("accept"))) return c.json(deps.status());
    c.header("content-security-policy", STATUS_PAGE_CSP);
    return c.html(STATUS_PAGE_HTML);
  });

  app.get("/metrics", (c) =>
    c.body(deps.metrics(), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));

  /** The admin calls' bearer token check: null when allowed, else the refusal. */
  const refuse = (c: Context): Response | null => {
    const token = deps.adminToken();
    if (token === null) {
      return c.json({ error: "admin API disabled: no token configured (http.token_env)" }, 403);
    }
    const auth = c.req.header("authorization") ?? "";
    const given = auth.startsWith("Bearer ") ? auth.slice(7).trim() : "";
    if (!given || !sameToken(given, token)) {
      c.header("www-authenticate", 'Bearer realm="vipless"');
      return c.json({ error: "missing or wrong bearer token" }, 401);
    }
    return null;
  };
  const forced = (c: Context) => ["1", "true", "yes"].includes(c.req.query("force") ?? "");
  const answer = (c: Context, result: SwitchoverResult) =>
    result.ok
      ? c.json(result.status)
      : c.json({ error: result.message }, result.code === "unknown-pair" ? 404 : 409);

  app.post("/pairs/:name/switchover", (c) => {
    return refuse(c) ?? answer(c, deps.switchover(c.req.param("name"), forced(c)));
  });

  // POST starts maintenance, DELETE ends it.
  app.on(["POST", "DELETE"], "/pairs/:name/members/:role/maintenance", (c) => {
    const refused = refuse(c);
    if (refused) return refused;
    const role = c.req.param("role");
    if (role !== "primary" && role !== "backup") {
      return c.json({ error: `no member role "${role}": primary or backup` }, 404);
    }
    const on = c.req.method === "POST";
    return answer(c, deps.maintenance(c.req.param("name"), role, on, forced(c)));
  });

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((err, c) => c.json({ error: `internal error: ${err.message}` }, 500));
  return app;
}
