/**
 * The operator's switchover (DESIGN §1, switch rule 3) over HTTP: refused without the
 * bearer token, refused when no token is configured, refused towards a member known
 * down unless forced; when accepted it moves the traffic and is counted in /metrics.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { CALLEE, memberUri, pairOf, siteA, startServers, Vipless, withCleanup } from "./harness.ts";
import { DETECTION_BOUND_MS, RUNTIME, TEST_TIMEOUT_MS } from "./harness.ts";

const TOKEN_ENV = "VIPLESS_HA_TEST_TOKEN";
const TOKEN = "s3cret-ha-token";
function post(vip: Vipless, path: string, token?: string): Promise<Response> {
  const headers: Record<string, string> = token === undefined
    ? {}
    : { authorization: `Bearer ${token}` };
  return vip.http(path, { method: "POST", headers });
}

/** Status code of a POST, body consumed. */
async function postStatus(vip: Vipless, path: string, token?: string): Promise<number> {
  const res = await post(vip, path, token);
  await res.body?.cancel();
  return res.status;
}

describe(`admin switchover API (${RUNTIME})`, () => {
  it("checks the token, the pair and the target's health; the switch moves calls and is counted", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { primary, backup, vip, ua } = await siteA(c, {
        vipless: { tokenEnv: TOKEN_ENV, env: { [TOKEN_ENV]: TOKEN } },
      });
      const path = "/pairs/site-a/switchover";

      assert.equal(await postStatus(vip, path), 401);
      assert.equal(await postStatus(vip, path, "wrong-token"), 401);
      assert.equal(await postStatus(vip, "/pairs/site-z/switchover", TOKEN), 404);
      assert.equal((await vip.pair("site-a")).activeRole, "primary", "refusals change nothing");

      // Both members up: the switch is accepted and calls follow it.
      const mark = vip.events().length;
      const ok = await post(vip, path, TOKEN);
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).activeRole, "backup");
      const { event } = await vip.waitForEvent({ event: "switchover", pair: "site-a" }, 2000, mark);
      assert.equal(event.reason, "manual");
      assert.equal(event.to, memberUri(backup));
      const call = await ua.call(vip.sip, { to: CALLEE });
      assert.equal(call.status, 200);
      assert.equal(call.final?.get("server"), "vipless-test-backup");
      assert.equal(primary.requests("INVITE").length, 0);

      // Switching back to a primary known down is refused unless forced.
      const downMark = vip.events().length;
      primary.stop();
      await vip.waitForEvent(
        { event: "member-down", pair: "site-a", role: "primary" },
        DETECTION_BOUND_MS * 2,
        downMark,
      );
      assert.equal(await postStatus(vip, path, TOKEN), 409);
      assert.equal((await vip.pair("site-a")).activeRole, "backup");
      const forced = await post(vip, `${path}?force=1`, TOKEN);
      assert.equal(forced.status, 200);
      assert.equal((await forced.json()).activeRole, "primary");
      const after = await vip.pair("site-a");
      assert.equal(after.activeRole, "primary");
      assert.equal(after.switchovers.at(-1)?.reason, "manual");

      const metrics = await (await vip.http("/metrics")).text();
      assert.match(metrics, /^vipless_switchovers_total\{pair="site-a",reason="manual"\} 2$/m);
    }));

  it("refuses admin calls with 403 when the token variable is not set", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const [primary, backup] = c.peersOf(await startServers(["primary", "backup"]));
      const unset = "VIPLESS_HA_TEST_TOKEN_NEVER_SET";
      assert.equal(process.env[unset], undefined);
      const vip = c.vipless(
        await Vipless.start({ pairs: [pairOf("site-a", primary, backup)], tokenEnv: unset }),
      );
      assert.equal(await postStatus(vip, "/pairs/site-a/switchover", TOKEN), 403);
      assert.equal(await postStatus(vip, "/pairs/site-a/switchover?force=1", ""), 403);
      assert.equal((await vip.pair("site-a")).activeRole, "primary");
    }));
});
