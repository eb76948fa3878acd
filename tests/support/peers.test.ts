// The test peers talk to each other directly (no proxy), over UDP and TCP: proof that
// they behave before the proxy tests rely on them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeSipServer, SILENT } from "./fake-sip-server.ts";
import { TestUa } from "./test-ua.ts";
import { getParam, topBranch, uriOf } from "./sip-text.ts";

const WAIT = 3000;

async function pair(
  transport: "udp" | "tcp",
  server: Partial<Parameters<typeof FakeSipServer.start>[0]> = {},
) {
  const srv = await FakeSipServer.start({ transport, name: "bob", ...server });
  const ua = await TestUa.start({ transport });
  return { srv, ua, stop: () => (ua.stop(), srv.stop()) };
}

for (const transport of ["udp", "tcp"] as const) {
  describe(`test peers over ${transport}`, () => {
    it("basic call: 100, 180, 200 with tag, Contact and SDP; ACK to the Contact; BYE 200", async () => {
      const { srv, ua, stop } = await pair(transport);
      try {
        const r = await ua.call(srv.address, {
          to: `sip:bob@${srv.address.host}:${srv.address.port}`,
        });
        assert.equal(r.status, 200);
        assert.deepEqual(r.responses.map((m) => m.status).slice(0, 3), [100, 180, 200]);
        assert.ok(getParam(r.final!.get("to")!, "tag"), "2xx To has a tag");
        assert.equal(uriOf(r.final!.get("contact")!), uriOf(srv.contact));
        assert.match(r.final!.body, /^v=0/);
        assert.equal(r.final!.get("content-type"), "application/sdp");

        const ack = await srv.waitFor((m) => m.msg.method === "ACK", WAIT);
        const invite = srv.requests("INVITE")[0].msg;
        assert.notEqual(topBranch(ack.msg), topBranch(invite), "2xx ACK is a new transaction");
        assert.equal(ack.msg.uri, uriOf(srv.contact), "2xx ACK goes to the remote target");
        assert.equal(srv.serverTxs[0].acked, true);

        const bye = await r.dialog!.bye();
        assert.equal(bye.status, 200);
        assert.equal(r.dialog!.terminated, true);
        const got = srv.requests("BYE")[0].msg;
        assert.equal(got.get("call-id"), invite.get("call-id"));
        assert.equal(getParam(got.get("to")!, "tag"), getParam(r.final!.get("to")!, "tag"));
      } finally {
        stop();
      }
    });

    it("486 reject: final 486, hop-by-hop ACK with the INVITE's branch, no dialog", async () => {
      const { srv, ua, stop } = await pair(transport, { answer: { final: 486 } });
      try {
        const r = await ua.call(srv.address, { to: `sip:bob@127.0.0.1:${srv.address.port}` });
        assert.equal(r.status, 486);
        assert.equal(r.dialog, undefined);
        const ack = await srv.waitFor((m) => m.msg.method === "ACK", WAIT);
        assert.equal(topBranch(ack.msg), topBranch(srv.requests("INVITE")[0].msg));
        assert.equal(ack.msg.uri, srv.requests("INVITE")[0].msg.uri);
        assert.equal(getParam(ack.msg.get("to")!, "tag"), getParam(r.final!.get("to")!, "tag"));
      } finally {
        stop();
      }
    });

    it("CANCEL after 180: 200 for the CANCEL, 487 for the INVITE, which is ACKed", async () => {
      const { srv, ua, stop } = await pair(transport, {
        answer: { final: 200, finalDelayMs: 10_000 },
      });
      try {
        const call = ua.invite(srv.address, { to: `sip:bob@127.0.0.1:${srv.address.port}` });
        await call.waitForResponse(180, WAIT);
        const c = await call.cancel();
        assert.equal(c.status, 200);
        const r = await call.result;
        assert.equal(r.status, 487);
        const cancel = srv.requests("CANCEL")[0].msg;
        assert.equal(topBranch(cancel), topBranch(srv.requests("INVITE")[0].msg));
        await srv.waitFor((m) => m.msg.method === "ACK", WAIT);
        assert.equal(srv.serverTxs.find((t) => t.req.method === "INVITE")!.finalStatus, 487);
      } finally {
        stop();
      }
    });

    it("OPTIONS: 200, and no answer at all when respondOptions is false", async () => {
      const { srv, ua, stop } = await pair(transport);
      try {
        const ok = await ua.options(srv.address);
        assert.equal(ok.status, 200);
        assert.equal(srv.requests("OPTIONS").length, 1);
        srv.respondOptions = false;
        const mute = await ua.options(srv.address, { timeoutMs: 300 });
        assert.equal(mute.timedOut, true);
        assert.equal(mute.status, 408);
        assert.equal(srv.requests("OPTIONS").length >= 2, true, "still bound: it received it");
      } finally {
        stop();
      }
    });

    it("stop() makes the server dead; restart() brings it back on the same port", async () => {
      const { srv, ua, stop } = await pair(transport);
      try {
        const port = srv.address.port;
        srv.stop();
        // Straight back: the port has just been released.
        await srv.restart();
        assert.equal(srv.address.port, port);
        srv.stop();
        const dead = await ua.options(srv.address, { timeoutMs: 300 });
        // UDP: silence; TCP: connection refused, reported as 503.
        assert.equal(dead.status, transport === "udp" ? 408 : 503);
        await srv.restart();
        assert.equal(srv.address.port, port);
        const alive = await ua.options(srv.address, { timeoutMs: WAIT });
        assert.equal(alive.status, 200);
      } finally {
        stop();
      }
    });

    it("ACK and BYE follow the Record-Route set, not the Contact", async () => {
      // `hop` stands in for a record-routing proxy: it only records and answers BYE.
      const { srv, ua, stop } = await pair(transport);
      const hop = await FakeSipServer.start({ transport, name: "hop" });
      try {
        const rr = `<sip:${hop.address.host}:${hop.address.port};lr>`;
        const r = await ua.call(srv.address, {
          to: `sip:bob@127.0.0.1:${srv.address.port}`,
          headers: [["Record-Route", rr]],
        });
        assert.equal(r.status, 200);
        assert.deepEqual(r.final!.getAll("record-route"), [rr], "server copied Record-Route");
        const ack = await hop.waitFor((m) => m.msg.method === "ACK", WAIT);
        assert.equal(ack.msg.uri, uriOf(srv.contact), "loose routing keeps the remote target");
        assert.deepEqual(ack.msg.getAll("route"), [rr]);
        assert.equal((await r.dialog!.bye()).status, 200);
        assert.equal(hop.requests("BYE").length, 1);
        assert.equal(srv.requests("BYE").length, 0);
      } finally {
        hop.stop();
        stop();
      }
    });

    it("the server can send its own INVITE; the UA answers and gets the ACK", async () => {
      const { srv, ua, stop } = await pair(transport);
      try {
        const call = srv.invite(ua.address, { uri: `sip:alice@127.0.0.1:${ua.address.port}` });
        const r = await call.result;
        assert.equal(r.status, 200);
        await ua.waitFor((m) => m.msg.method === "ACK", WAIT);
        assert.equal(ua.serverTxs[0].acked, true);
        assert.equal(ua.dialogs.length, 1, "the UA keeps the dialog it answered");
        const bye = await ua.dialogs[0].bye();
        assert.equal(bye.status, 200);
        assert.equal(srv.requests("BYE").length, 1);
      } finally {
        stop();
      }
    });
  });
}

describe("test peers: other answers", () => {
  it("re-INVITE in the dialog: CSeq up, both tags kept, new 2xx ACKed", async () => {
    const { srv, ua, stop } = await pair("udp");
    try {
      const r = await ua.call(srv.address, { to: "sip:bob@127.0.0.1" });
      const re = await r.dialog!.reinvite();
      assert.equal(re.status, 200);
      assert.equal(re.dialog, r.dialog);
      const invites = srv.requests("INVITE").map((x) => x.msg);
      assert.equal(invites.length, 2);
      assert.equal(invites[1].get("cseq"), "2 INVITE");
      assert.equal(invites[1].get("call-id"), invites[0].get("call-id"));
      assert.equal(getParam(invites[1].get("to")!, "tag"), getParam(r.final!.get("to")!, "tag"));
      assert.equal(getParam(re.final!.get("to")!, "tag"), getParam(r.final!.get("to")!, "tag"));
      await srv.waitFor((m) => m.msg.method === "ACK" && m.msg.get("cseq") === "2 ACK", WAIT);
    } finally {
      stop();
    }
  });

  it("a configured answer: 183 then 503 with Retry-After", async () => {
    const { srv, ua, stop } = await pair("tcp", {
      answer: { final: 503, provisional: [183], headers: [["Retry-After", "5"]] },
    });
    try {
      const r = await ua.call(srv.address, { to: "sip:bob@127.0.0.1" });
      assert.deepEqual(r.responses.map((m) => m.status), [100, 183, 503]);
      assert.equal(r.final!.get("retry-after"), "5");
    } finally {
      stop();
    }
  });

  it("bytes that are not SIP are recorded as malformed and get no answer", async () => {
    const { srv, ua, stop } = await pair("udp");
    try {
      await ua.send("HELLO WORLD\r\n\r\n", srv.address);
      await ua.send(ua.buildRequestText("OPTIONS", { uri: "sip:bob@127.0.0.1" }), srv.address);
      await ua.waitFor((m) => m.msg.status === 200, WAIT);
      assert.equal(srv.malformed.length, 1);
      assert.match(srv.malformed[0].raw, /^HELLO/);
      assert.equal(ua.responses().length, 1);
    } finally {
      stop();
    }
  });
});

describe("test peers: UDP retransmissions", () => {
  it("the UA retransmits INVITE (Timer A) to a silent server and times out with 408", async () => {
    const srv = await FakeSipServer.start({ transport: "udp", answer: SILENT });
    const fast = await TestUa.start({ transport: "udp", t1: 40 });
    try {
      const r = await fast.call(srv.address, { to: "sip:bob@127.0.0.1", timeoutMs: 500 });
      assert.equal(r.status, 408);
      assert.equal(r.timedOut, true);
      const invites = srv.requests("INVITE");
      assert.ok(invites.length >= 3, `got ${invites.length} copies`);
      assert.equal(new Set(invites.map((i) => topBranch(i.msg))).size, 1, "same transaction");
      assert.equal(srv.sent.length, 0, "silent means silent");
    } finally {
      fast.stop();
      srv.stop();
    }
  });

  it("the server retransmits its 2xx over UDP until the ACK arrives", async () => {
    const srv = await FakeSipServer.start({ transport: "udp", t1: 40 });
    const ua = await TestUa.start({ transport: "udp" });
    try {
      const call = ua.invite(srv.address, { to: "sip:bob@127.0.0.1", autoAck: false });
      const r = await call.result;
      assert.equal(r.status, 200);
      // No ACK yet: the 2xx keeps coming.
      await ua.waitFor((m) => m.msg.status === 200, WAIT);
      await call.waitForResponse(
        () => call.responses.filter((x) => x.status === 200).length >= 3,
        WAIT,
      );
      assert.equal(srv.serverTxs[0].acked, false);
      const ack = r.dialog!.ack(1);
      call.request.ack = ack;
      await srv.waitFor((m) => m.msg.method === "ACK", WAIT);
      assert.equal(srv.serverTxs[0].acked, true);
    } finally {
      ua.stop();
      srv.stop();
    }
  });

  it("the server repeats its last response to a retransmitted request without acting twice", async () => {
    const srv = await FakeSipServer.start({ transport: "udp" });
    const ua = await TestUa.start({ transport: "udp" });
    try {
      const text = ua.buildRequestText("OPTIONS", { uri: "sip:bob@127.0.0.1" });
      await ua.send(text, srv.address);
      await ua.waitFor((m) => m.msg.status === 200, WAIT);
      await ua.send(text, srv.address);
      await ua.waitFor(() => ua.responses("OPTIONS").length === 2, WAIT);
      assert.equal(srv.serverTxs.length, 1);
      assert.equal(srv.serverTxs[0].retransmissions, 1);
    } finally {
      ua.stop();
      srv.stop();
    }
  });
});
