// Next-hop failover through a running vipless: when the primary does not answer, answers
// 503, or refuses the connection, the call is retried on the backup with a new branch
// and the caller never sees the failure.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  logEvents,
  type Rig,
  RUNTIME,
  type ServerOptions,
  startRig,
  WAIT_MS,
} from "./integration-harness.ts";
import { SILENT } from "../support/fake-sip-server.ts";
import type { Received } from "../support/sip-peer.ts";
import type { CallResult } from "../support/test-ua.ts";
import { newCallId, topBranch } from "../support/sip-text.ts";

/** Calls placed at once in each scenario: every one of them must succeed. */
const CALLS = 4;
const callee = "sip:bob@site-a.example.com";

function invitesOf(rig: Rig, who: "primary" | "backup", callId: string): Received[] {
  return rig[who].received.filter((r) =>
    r.msg.kind === "request" && r.msg.method === "INVITE" && r.msg.get("call-id") === callId
  );
}

type Calls = Array<{ callId: string; r: CallResult }>;

/** Places CALLS calls at once, hangs each up, and returns their results and Call-IDs. */
async function callsThrough(rig: Rig): Promise<Calls> {
  const ids = Array.from({ length: CALLS }, () => newCallId());
  const results = await Promise.all(
    ids.map((callId) => rig.ua.call(rig.proxy, { to: callee, callId, timeoutMs: WAIT_MS })),
  );
  for (const r of results) {
    if (r.dialog) await r.dialog.bye({ timeoutMs: WAIT_MS });
  }
  return ids.map((callId, i) => ({ callId, r: results[i] }));
}

/** Every call answered 200 by the backup, and the caller never saw the primary's failure. */
function assertAllOnBackup(rig: Rig, calls: Calls): void {
  const statuses = calls.map((c) => c.r.status);
  assert.deepEqual(statuses, calls.map(() => 200), "zero failed calls");
  for (const { callId, r } of calls) {
    assert.equal(invitesOf(rig, "backup", callId).length >= 1, true, "the backup got the call");
    assert.ok(!r.responses.some((m) => m.status >= 300), "no error reached the caller");
  }
}

/** How the primary fails a call while it keeps answering probes, and what that leaves behind. */
const refusals: Array<{
  primary: string;
  answer: ServerOptions["answer"];
  title: string;
  /** Checks beyond every call ending on the backup. */
  check(rig: Rig, calls: Calls): void | Promise<void>;
}> = [
  {
    primary: "silent",
    // The primary answers probes (so it stays active) but never answers a call.
    answer: SILENT,
    title: "every call is answered by the backup after the failover timeout",
    check(rig, calls) {
      for (const { callId } of calls) {
        // The primary was tried first; the backup got the request with a new branch.
        const first = invitesOf(rig, "primary", callId)[0];
        assert.ok(first, "the primary was tried first");
        const retry = invitesOf(rig, "backup", callId)[0];
        assert.notEqual(topBranch(retry.msg), topBranch(first.msg));
        assert.equal(retry.msg.get("max-forwards"), "69");
      }
      const port = rig.primary.address.port;
      assert.ok(
        logEvents(rig.proc).some((e) => e.event === "forward-failure" && e.port === port),
        "a forward-failure event names the primary",
      );
    },
  },
  {
    primary: "answers 503",
    answer: { final: 503 },
    title: "every call is answered by the backup; the 503 is ACKed and not relayed",
    async check(rig, calls) {
      for (const { callId } of calls) {
        const tx = rig.primary.serverTxs.find((t) => t.req.get("call-id") === callId);
        assert.equal(tx?.finalStatus, 503, "the primary was tried first and refused");
        await rig.primary.waitFor(
          (r) => r.msg.method === "ACK" && r.msg.get("call-id") === callId,
          WAIT_MS,
        );
      }
    },
  },
];

for (const transport of ["udp", "tcp"] as const) {
  for (const refusal of refusals) {
    describe(`proxy integration: failover, primary ${refusal.primary} over ${transport} (${RUNTIME})`, () => {
      let rig: Rig;
      before(async () => {
        rig = await startRig({ members: transport, primary: { answer: refusal.answer } });
      });
      after(async () => {
        await rig?.stop();
      });

      it(refusal.title, { timeout: 20_000 }, async () => {
        const calls = await callsThrough(rig);
        assertAllOnBackup(rig, calls);
        await refusal.check(rig, calls);
      });
    });
  }
}

describe(`proxy integration: failover, primary's TCP port closed (${RUNTIME})`, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ members: "tcp" });
  });
  after(async () => {
    await rig?.stop();
  });

  it("with the primary gone, every call is answered by the backup", {
    timeout: 20_000,
  }, async () => {
    // Ready means the primary is active; take it away before vipless notices by probing.
    rig.primary.stop();
    const calls = await callsThrough(rig);
    assertAllOnBackup(rig, calls);
    const port = rig.primary.address.port;
    assert.ok(
      logEvents(rig.proc).some((e) => e.event === "forward-failure" && e.port === port),
      "a forward-failure event names the primary",
    );
    // And once the probes agree, later calls go straight to the backup.
    await rig.proc.waitForOutput(/"event":"switchover"/, 10_000);
    const failures = () => logEvents(rig.proc).filter((e) => e.event === "forward-failure").length;
    const failuresBefore = failures();
    const later = await callsThrough(rig);
    assertAllOnBackup(rig, later);
    assert.equal(failures(), failuresBefore, "no later call was sent to the dead primary");
  });
});
