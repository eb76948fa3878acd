// Calls through a running vipless (from source) to a fake SIP server pair, over UDP and
// over TCP: what the caller gets back and what the server receives on each hop.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Rig, RUNTIME, startRig, WAIT_MS } from "./integration-harness.ts";
import type { FakeSipServer } from "../support/fake-sip-server.ts";
import type { InviteAnswer, Received } from "../support/sip-peer.ts";
import {
  cseqNumber,
  getParam,
  newCallId,
  parseMessage,
  type SipMessage,
  topBranch,
  uriOf,
} from "../support/sip-text.ts";
import { sleep } from "../support/wait.ts";

/** The callee's user part chooses the server's answer. */
function answerFor(req: SipMessage): InviteAnswer {
  const user = /^sips?:([^@;]+)@/.exec(req.uri)?.[1];
  if (user === "busy") return { final: 486 };
  // Rings, and would answer long after any test has CANCELled it.
  if (user === "slow") return { final: 200, finalDelayMs: 30_000 };
  // Rings after 300 ms: longer than vipless waits before its own 100 Trying.
  if (user === "pensive") return { final: 200, provisionalDelayMs: 300 };
  return { final: 200 };
}

const callee = (user: string) => `sip:${user}@site-a.example.com`;

function ofCall(callId: string, method?: string) {
  return (r: Received) =>
    r.msg.get("call-id") === callId && (method === undefined || r.msg.method === method);
}

function inCall(peer: FakeSipServer, callId: string, method: string): SipMessage[] {
  return peer.received.filter(ofCall(callId, method)).filter((r) => r.msg.kind === "request")
    .map((r) => r.msg);
}

/** The branch of the request the caller sent in this call. */
function uaBranch(rig: Rig, callId: string, method: string, cseq = 1): string | undefined {
  const sent = rig.ua.sent.map((s) => parseMessage(s.text)).find((m) =>
    m.kind === "request" && m.method === method && m.get("call-id") === callId &&
    cseqNumber(m) === cseq
  );
  return sent ? topBranch(sent) : undefined;
}

for (const transport of ["udp", "tcp"] as const) {
  const T = transport.toUpperCase();
  describe(`proxy integration: calls over ${transport} (${RUNTIME})`, () => {
    let rig: Rig;
    /** Our Via sent-by and Record-Route as the server must see them. */
    let sentBy: string;
    let recordRoute: string;

    before(async () => {
      rig = await startRig({
        members: transport,
        primary: { answer: answerFor },
        backup: { answer: answerFor },
        // Over UDP the primary also listens on TCP, for requests too large for UDP.
        primaryAlsoTcp: transport === "udp" ? { answer: answerFor } : undefined,
      });
      sentBy = `127.0.0.1:${rig.sipPort}`;
      recordRoute = `<sip:${sentBy}${transport === "tcp" ? ";transport=tcp" : ""};lr>`;
    });
    after(async () => {
      await rig?.stop();
    });

    /** Asserts the top Via is ours and the next one is the caller's, unchanged in branch. */
    function assertViaChain(msg: SipMessage, uaBranch?: string): void {
      const vias = msg.getAll("via");
      assert.equal(vias.length, 2, `two Vias: ours and the caller's\n${msg.raw}`);
      assert.match(vias[0], new RegExp(`^SIP/2\\.0/${T} ${sentBy.replace(/\./g, "\\.")};`));
      assert.match(getParam(vias[0], "branch") ?? "", /^z9hG4bK/);
      if (uaBranch !== undefined) assert.equal(getParam(vias[1], "branch"), uaBranch);
    }

    it("basic call: 180/200, ACK and BYE reach the server through vipless", async () => {
      const callId = newCallId();
      const r = await rig.ua.call(rig.proxy, { to: callee("bob"), callId, timeoutMs: WAIT_MS });
      assert.equal(r.status, 200);
      const statuses = r.responses.map((m) => m.status);
      // No 100 Trying from vipless: the server rang within 200 ms (RFC 3261 §17.2.1).
      assert.deepEqual([...new Set(statuses)], [180, 200]);
      // The caller sees only its own Via, and the route set vipless recorded.
      assert.equal(r.final!.getAll("via").length, 1);
      assert.deepEqual(r.final!.getAll("record-route"), [recordRoute]);
      assert.match(r.final!.body, /^v=0/);

      const invite = inCall(rig.primary, callId, "INVITE")[0];
      assert.ok(invite, "the primary got the INVITE");
      assertViaChain(invite, uaBranch(rig, callId, "INVITE"));
      assert.deepEqual(invite.getAll("record-route"), [recordRoute]);
      assert.equal(invite.get("max-forwards"), "69");
      assert.equal(invite.uri, callee("bob"), "Request-URI unchanged");
      assert.equal(inCall(rig.backup, callId, "INVITE").length, 0, "the backup is not used");

      // The 2xx ACK follows the route set: through vipless, which removes its own Route.
      const ack = (await rig.primary.waitFor(ofCall(callId, "ACK"), WAIT_MS)).msg;
      assertViaChain(ack);
      assert.equal(ack.get("route"), undefined, "vipless removed its own Route entry");
      assert.equal(ack.uri, uriOf(rig.primary.contact), "to the remote target");
      assert.equal(ack.get("max-forwards"), "69");

      const bye = await r.dialog!.bye({ timeoutMs: WAIT_MS });
      assert.equal(bye.status, 200);
      assert.equal(bye.final!.getAll("via").length, 1);
      const byeAtServer = inCall(rig.primary, callId, "BYE")[0];
      assert.ok(byeAtServer, "the BYE reached the server");
      assertViaChain(byeAtServer);
      assert.equal(byeAtServer.get("route"), undefined);
      assert.equal(byeAtServer.get("max-forwards"), "69");
    });

    it("a server slow to ring: vipless's own 100 Trying reaches the caller first", async () => {
      const callId = newCallId();
      const to = callee("pensive");
      const r = await rig.ua.call(rig.proxy, { to, callId, timeoutMs: WAIT_MS });
      assert.equal(r.status, 200);
      assert.deepEqual([...new Set(r.responses.map((m) => m.status))], [100, 180, 200]);
      const trying = r.responses.find((m) => m.status === 100)!;
      assert.equal(getParam(trying.get("to") ?? "", "tag"), undefined, "vipless's: no To tag");
      assert.equal(inCall(rig.backup, callId, "INVITE").length, 0, "the backup is not used");
      await r.dialog!.bye({ timeoutMs: WAIT_MS });
    });

    it("486: the caller's ACK stops at vipless, which ACKs the server itself", async () => {
      const callId = newCallId();
      const r = await rig.ua.call(rig.proxy, { to: callee("busy"), callId, timeoutMs: WAIT_MS });
      assert.equal(r.status, 486);
      assert.equal(r.final!.getAll("via").length, 1);
      const invite = inCall(rig.primary, callId, "INVITE")[0];
      const ack = (await rig.primary.waitFor(ofCall(callId, "ACK"), WAIT_MS)).msg;
      // vipless's own ACK (§17.1.1.3): its Via only, the branch of the INVITE it sent.
      assert.equal(ack.getAll("via").length, 1, `vipless's ACK, not the caller's\n${ack.raw}`);
      assert.equal(topBranch(ack), topBranch(invite));
      assert.equal(ack.uri, invite.uri);
      assert.equal(cseqNumber(ack), cseqNumber(invite));
      // The caller did send its ACK; give a forwarded copy time to arrive, then count.
      assert.ok(rig.ua.sent.some((s) => s.text.startsWith("ACK ") && s.text.includes(callId)));
      await sleep(300);
      assert.equal(inCall(rig.primary, callId, "ACK").length, 1, "exactly one ACK at the server");
      assert.equal(rig.primary.serverTxs.find((t) => t.req.get("call-id") === callId)?.acked, true);
    });

    it("CANCEL after 180: 200 for the CANCEL, 487 for the INVITE, both ACKed", async () => {
      const callId = newCallId();
      const call = rig.ua.invite(rig.proxy, { to: callee("slow"), callId, timeoutMs: WAIT_MS });
      await call.waitForResponse(180, WAIT_MS);
      const cancel = await call.cancel(WAIT_MS);
      assert.equal(cancel.status, 200);
      const r = await call.result;
      assert.equal(r.status, 487);

      // vipless CANCELs its own branch towards the server (hop by hop, §16.10).
      const invite = inCall(rig.primary, callId, "INVITE")[0];
      const atServer = (await rig.primary.waitFor(ofCall(callId, "CANCEL"), WAIT_MS)).msg;
      assert.equal(atServer.getAll("via").length, 1);
      assert.equal(topBranch(atServer), topBranch(invite));
      const tx = rig.primary.serverTxs.find((t) => t.req.get("call-id") === callId)!;
      assert.equal(tx.finalStatus, 487);
      const ack = (await rig.primary.waitFor(ofCall(callId, "ACK"), WAIT_MS)).msg;
      assert.equal(topBranch(ack), topBranch(invite), "vipless ACKs the 487");
    });

    it("re-INVITE and BYE from either side follow the Record-Route through vipless", async () => {
      const callId = newCallId();
      const r = await rig.ua.call(rig.proxy, { to: callee("bob"), callId, timeoutMs: WAIT_MS });
      assert.equal(r.status, 200);

      const re = await r.dialog!.reinvite({ timeoutMs: WAIT_MS });
      assert.equal(re.status, 200);
      const reinvite = inCall(rig.primary, callId, "INVITE").find((m) => cseqNumber(m) === 2);
      assert.ok(reinvite, "the re-INVITE reached the server");
      assertViaChain(reinvite, uaBranch(rig, callId, "INVITE", 2));
      assert.equal(reinvite.uri, uriOf(rig.primary.contact));
      assert.equal(reinvite.get("route"), undefined);
      assert.equal(reinvite.getAll("record-route").length, 0, "no Record-Route in-dialog");
      assert.equal(getParam(reinvite.get("to")!, "tag"), r.dialog!.remoteTag);
      const ack2 = await rig.primary.waitFor(
        (m) => ofCall(callId, "ACK")(m) && cseqNumber(m.msg) === 2,
        WAIT_MS,
      );
      assertViaChain(ack2.msg);

      // The callee hangs up: its BYE goes to vipless (its route set) and on to the caller.
      const serverDialog = rig.primary.dialogs.find((d) => d.callId === callId);
      assert.ok(serverDialog, "the server has the dialog");
      const bye = await serverDialog.bye({ timeoutMs: WAIT_MS });
      assert.equal(bye.status, 200);
      const atUa = (await rig.ua.waitFor(ofCall(callId, "BYE"), WAIT_MS)).msg;
      const vias = atUa.getAll("via");
      assert.equal(vias.length, 2, "vipless's Via on top of the server's");
      assert.match(vias[0], new RegExp(`^SIP/2\\.0/${T} 127\\.0\\.0\\.1:${rig.sipPort};`));
      assert.equal(atUa.get("route"), undefined);
      assert.equal(atUa.uri, uriOf(rig.ua.contact));
    });

    if (transport === "udp") {
      it("a 1500-byte INVITE arriving over UDP leaves vipless over TCP", async () => {
        const callId = newCallId();
        const padding = "x".repeat(1500);
        const r = await rig.ua.call(rig.proxy, {
          to: callee("bob"),
          callId,
          headers: [["X-Padding", padding]],
          timeoutMs: WAIT_MS,
        });
        assert.equal(r.status, 200);
        const sent = rig.ua.sent.find((s) =>
          s.text.startsWith("INVITE ") && s.text.includes(callId)
        );
        assert.ok(sent && sent.text.length > 1500, "the caller sent more than 1500 bytes");

        const tcp = rig.primaryTcp!;
        const invite = inCall(tcp, callId, "INVITE")[0];
        assert.ok(invite, "the INVITE arrived over TCP");
        assert.equal(inCall(rig.primary, callId, "INVITE").length, 0, "and not over UDP");
        assert.equal(invite.get("x-padding"), padding, "unknown headers forwarded intact");
        const top = invite.getAll("via")[0];
        assert.match(top, new RegExp(`^SIP/2\\.0/TCP 127\\.0\\.0\\.1:${rig.sipPort};`));
        // Different transports in and out: two Record-Route entries (RFC 5658), out first.
        assert.deepEqual(invite.getAll("record-route"), [
          `<sip:127.0.0.1:${rig.sipPort};transport=tcp;lr;r2=on>`,
          `<sip:127.0.0.1:${rig.sipPort};lr;r2=on>`,
        ]);
        const bye = await r.dialog!.bye({ timeoutMs: WAIT_MS });
        assert.equal(bye.status, 200);
      });
    }
  });
}
