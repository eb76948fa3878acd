/**
 * RFC 7339 overload control end to end, on loopback: a member that answers `oc=100` in
 * vipless's Via gets no new calls for its oc-validity (callers hear 503 from vipless at
 * once, without Retry-After, RFC 7339 §5.10; counted and logged as member overload
 * control), its dialogs go
 * on, nothing of it reaches the member's health, and once oc-validity is over it gets
 * calls again.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CALLEE,
  type Cleanup,
  memberUri,
  pairOf,
  RUNTIME,
  startServers,
  TEST_TIMEOUT_MS,
  Vipless,
  withCleanup,
} from "./harness.ts";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import type { ServerTx } from "../support/sip-peer.ts";
import { TestUa } from "../support/test-ua.ts";
import { sleep } from "../support/wait.ts";

const HA_EVENTS = new Set(["member-down", "switchover", "pair-out-of-service", "member-flapping"]);
const VALIDITY_MS = 3000;

/** A member that writes `oc` into the top Via of its INVITE answers while `oc` is set. */
class OverloadedMember extends FakeSipServer {
  oc: string | null = null;

  static async startOverloaded(name: string): Promise<OverloadedMember> {
    const s = new OverloadedMember({ name, transport: "udp" });
    await s.bind();
    return s;
  }

  override respond(
    tx: ServerTx,
    status: number,
    opts: Parameters<FakeSipServer["respond"]>[2] = {},
  ): string {
    if (this.oc !== null && tx.req.method === "INVITE" && tx.vias.length > 0) {
      tx.vias = [`${tx.vias[0]};${this.oc}`, ...tx.vias.slice(1)];
    }
    return super.respond(tx, status, opts);
  }
}

async function scene(c: Cleanup) {
  const primary = c.peer(await OverloadedMember.startOverloaded("primary"));
  const [backup] = c.peersOf(await startServers(["backup"]));
  const vip = c.vipless(await Vipless.start({ pairs: [pairOf("site-a", primary, backup)] }));
  const ua = c.peer(await TestUa.start({ transport: "udp" }));
  await vip.waitAllUp(["site-a"]);
  return { primary, backup, vip, ua };
}

const invitesAt = (s: FakeSipServer) =>
  s.received.filter((r) => r.msg.startLine.startsWith("INVITE ")).length;

describe(`RFC 7339 overload control from a member (${RUNTIME})`, () => {
  it(
    "oc=100 from the member: new calls get 503 from vipless for oc-validity, no HA event, then calls again",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const { primary, backup, vip, ua } = await scene(c);
        const mark = vip.events().length;
        primary.oc = `oc=100;oc-algo="loss";oc-validity=${VALIDITY_MS};oc-seq=1.000`;
        const first = await ua.call(vip.sip, { to: CALLEE });
        assert.equal(first.status, 200, "the answer carrying oc still goes up");
        const before = invitesAt(primary);
        const startedAt = Date.now();
        const refused = [];
        for (let i = 0; i < 5; i++) refused.push(await ua.call(vip.sip, { to: CALLEE }));
        // Only meaningful while the throttle holds: a slow machine could outlast it.
        if (Date.now() - startedAt < VALIDITY_MS) {
          assert.deepEqual(refused.map((r) => r.status), [503, 503, 503, 503, 503]);
          for (const r of refused) assert.equal(r.final?.get("retry-after"), undefined);
          assert.equal(invitesAt(primary), before, "no new INVITE reached the member");
          assert.equal(invitesAt(backup), 0, "nor the backup: the caller is told to retry");
        } else console.log("# the five calls took longer than oc-validity; not asserted");
        // The call in progress goes on: its BYE reaches the member.
        assert.equal((await first.dialog!.bye()).status, 200);

        const { event } = await vip.waitForEvent({ event: "member-overload-control" }, 5000, mark);
        assert.equal(event.kind, "throttle");
        assert.equal(event.loss, 100);
        assert.equal(`sip:${event.host}:${event.port}`, memberUri(primary));
        const metrics = await (await vip.http("/metrics")).text();
        const rejected = Number(
          /^vipless_overload_rejections_total\{reason="member-oc"\} (\d+)$/m.exec(metrics)?.[1],
        );
        assert.ok(rejected >= 1, `member-oc rejections counted: ${rejected}`);

        // oc-validity over (and the member no longer asks): calls reach it again.
        primary.oc = null;
        await sleep(Math.max(0, VALIDITY_MS - (Date.now() - startedAt)) + 100);
        const again = await ua.call(vip.sip, { to: CALLEE });
        assert.equal(again.status, 200);
        assert.equal(again.final?.get("server"), "vipless-test-primary");
        assert.equal((await again.dialog!.bye()).status, 200);

        const ha = vip.events().slice(mark).filter((e) => HA_EVENTS.has(String(e.event)));
        assert.deepEqual(ha, [], "overload control is not a failure of the member");
        assert.equal((await vip.pair("site-a")).activeRole, "primary");
      }),
  );
});
