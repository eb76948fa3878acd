/**
 * A request counts as a pair member's only by its transport, never by what its Via
 * says. Both members of site-a listen on 127.0.0.1 (UDP); a client on that same IP, from
 * a port that is no member's, claims in its Via to be the backup. Over TCP the IP is a
 * member host (it is routed like a member) but names no member, so it cannot switch
 * the pair; over UDP a port that is no member's is no member at all.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getRuntime } from "../support/peer-transport.ts";
import { SipFramer } from "../support/sip-framer.ts";
import { buildRequest, buildResponse, parseMessage, type SipMessage } from "../support/sip-text.ts";
import { withTimeout } from "../support/wait.ts";
import { DETECTION_BOUND_MS, RUNTIME, siteA, TEST_TIMEOUT_MS, withCleanup } from "./harness.ts";

/** A MESSAGE as the backup would send it, except that it comes from `from`. */
function spoofedMessage(transport: "TCP" | "UDP", backupPort: number, uri: string, n: number) {
  return buildRequest("MESSAGE", uri, [
    ["Via", `SIP/2.0/${transport} 127.0.0.1:${backupPort};branch=z9hG4bKspoof${n};rport`],
    ["Max-Forwards", "70"],
    ["From", `<sip:backup@127.0.0.1:${backupPort}>;tag=spoof${n}`],
    ["To", `<${uri}>`],
    ["Call-ID", `spoof-${n}-${Date.now()}@127.0.0.1`],
    ["CSeq", "1 MESSAGE"],
    ["Content-Type", "text/plain"],
  ], "hello");
}

describe(`member identity from the transport, not the Via (${RUNTIME})`, () => {
  it(
    "over TCP, another port on the members' IP naming the backup in its Via does not switch the pair",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const { backup, vip, ua: phone } = await siteA(c, { ua: { name: "phone" } });
        const phoneUri = `sip:phone@127.0.0.1:${phone.address.port}`;
        const mark = vip.events().length;

        const rt = await getRuntime();
        const framer = new SipFramer();
        const answers: SipMessage[] = [];
        let final: (m: SipMessage) => void = () => {};
        const gotFinal = new Promise<SipMessage>((resolve) => final = resolve);
        const conn = await rt.connectTcp(vip.sip, {
          onData: (_conn, data) => {
            for (const bytes of framer.push(data)) {
              const m = parseMessage(bytes);
              answers.push(m);
              if (m.status >= 200) final(m);
            }
          },
        });
        c.peer({ stop: () => conn.close() });
        assert.notEqual(conn.local.port, backup.address.port);
        conn.write(
          new TextEncoder().encode(spoofedMessage("TCP", backup.address.port, phoneUri, 1)),
        );
        const answer = await withTimeout(gotFinal, 5_000, "the final answer to the MESSAGE");

        // The IP is a member host, so the request is routed like a member's (to the phone) …
        assert.equal(answer.status, 200);
        assert.equal(phone.requests("MESSAGE").length, 1);
        // … but no member in particular: the backup did not take over.
        assert.equal((await vip.pair("site-a")).activeRole, "primary");
        assert.deepEqual(vip.events().slice(mark).filter((e) => e.event === "switchover"), []);
        assert.equal(backup.requests("MESSAGE").length, 0);
      }),
  );

  it(
    "over UDP, another port on the members' IP naming the backup is no member: no switch, no relay",
    {
      timeout: TEST_TIMEOUT_MS,
    },
    () =>
      withCleanup(async (c) => {
        const { primary, backup, vip, ua: phone } = await siteA(c, { ua: { name: "phone" } });
        const phoneUri = `sip:phone@127.0.0.1:${phone.address.port}`;
        const mark = vip.events().length;

        const rt = await getRuntime();
        let final: (m: SipMessage) => void = () => {};
        const gotFinal = new Promise<SipMessage>((resolve) => final = resolve);
        const sock = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, {
          onMessage: (data) => {
            const m = parseMessage(data.slice());
            if (m.status >= 200) final(m);
          },
        });
        c.peer({ stop: () => sock.close() });
        const text = spoofedMessage("UDP", backup.address.port, phoneUri, 2);
        sock.send(new TextEncoder().encode(text), vip.sip);
        // The Via names the backup's port, but rport sends the answer to the real source.
        const answer = await withTimeout(gotFinal, 5_000, "the final answer to the MESSAGE");

        // From no member, a request only ever goes to the served pair (its active member).
        assert.equal(answer.status, 200);
        assert.equal(phone.requests("MESSAGE").length, 0, "not relayed to the phone");
        assert.equal(primary.requests("MESSAGE").length, 1);
        assert.equal((await vip.pair("site-a")).activeRole, "primary");
        assert.deepEqual(vip.events().slice(mark).filter((e) => e.event === "switchover"), []);
      }),
  );

  it("forged answers to a dead primary's probes, from another port, do not keep it up", {
    timeout: TEST_TIMEOUT_MS,
  }, () =>
    withCleanup(async (c) => {
      const { primary, vip } = await siteA(c);
      const rt = await getRuntime();
      const forger = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
      c.peer({ stop: () => forger.close() });
      // The primary goes mute to probes, but whoever sees them (here: this test) answers
      // 200 for it, with the right branch, from a port of its own.
      let forged = 0;
      primary.onRequest = (tx) => {
        if (tx.req.method !== "OPTIONS") return false;
        const r = tx.req;
        const answer = buildResponse(200, "OK", [
          ["Via", r.getAll("via").join(", ")],
          ["From", r.get("from")!],
          ["To", `${r.get("to")!};tag=forged`],
          ["Call-ID", r.get("call-id")!],
          ["CSeq", r.get("cseq")!],
        ]);
        forger.send(new TextEncoder().encode(answer), vip.sip);
        forged++;
        return true;
      };
      const mark = vip.events().length;
      const { event } = await vip.waitForEvent(
        { event: "member-down", pair: "site-a", role: "primary" },
        DETECTION_BOUND_MS * 2,
        mark,
      );
      assert.equal(event.cause, "timeout");
      assert.ok(forged >= 2, `${forged} forged answers`);
      assert.equal((await vip.pair("site-a")).activeRole, "backup");
      const metrics = await (await vip.http("/metrics")).text();
      const counted =
        /^vipless_probe_answers_rejected_total\{pair="site-a",member="[^"]+"\} (\d+)$/m
          .exec(metrics);
      assert.ok(counted && Number(counted[1]) >= 2, `rejected answers counted: ${counted?.[0]}`);
    }));
});
