// What the proxy core changes in a request it forwards (RFC 3261 §16.4, §16.6,
// RFC 3581, RFC 5658) and where it sends it (DESIGN §1 routing).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADVERTISE, B_PRIMARY, Harness, PRIMARY, request, UAC } from "./harness.ts";
import { hostPort, one, requests, responses, summary, to } from "./harness.ts";
import { TRYING_DELAY_MS } from "../../src/proxy/delayed-trying.ts";

describe("a forwarded initial INVITE", () => {
  const h = new Harness();
  const out = h.receive(request("INVITE", { maxForwards: 10 }));
  const fwd = one(requests(out, "INVITE"), "forwarded INVITE");

  test("goes to the active member of the served pair over its transport", () => {
    assert.deepEqual(
      { transport: fwd.dest.transport, host: fwd.dest.host, port: fwd.dest.port },
      { transport: "udp", host: PRIMARY.host, port: PRIMARY.port },
    );
  });

  test("carries our Via on top with an RFC 3261 branch and rport", () => {
    const via = fwd.msg.vias[0]!;
    assert.equal(via.transport, "UDP");
    assert.equal(via.host, ADVERTISE);
    assert.match(via.branch ?? "", /^z9hG4bK/);
    assert.equal(via.rport, true);
    assert.equal(fwd.msg.vias.length, 2);
  });

  test("fills received and rport on the upstream Via", () => {
    const up = fwd.msg.vias[1]!;
    assert.equal(up.host, "uac.example.com");
    assert.match(up.branch ?? "", /^z9hG4bK-uac-/);
    assert.equal(up.received, UAC.host);
    assert.equal(up.rport, UAC.port);
  });

  test("decrements Max-Forwards", () => {
    assert.equal(fwd.msg.maxForwards, 9);
  });

  test("adds exactly one Record-Route naming the advertised host with lr", () => {
    assert.deepEqual(fwd.msg.headerValues("Record-Route"), [`<sip:${ADVERTISE};lr>`]);
  });

  test("keeps the Request-URI and the rest of the request", () => {
    assert.equal(fwd.msg.requestUri, "sip:bob@example.com");
    assert.equal(fwd.msg.header("Contact"), "<sip:alice@192.0.2.1:5062>");
  });
});

describe("forwarding edits", () => {
  test("a request without Max-Forwards gets Max-Forwards: 70", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("INVITE", { maxForwards: null })), "INVITE"));
    assert.equal(fwd.msg.maxForwards, 70);
  });

  test("each forward gets its own branch", () => {
    const h = new Harness();
    const a = one(requests(h.receive(request("INVITE")), "INVITE"));
    const b = one(requests(h.receive(request("INVITE")), "INVITE"));
    assert.notEqual(a.msg.topVia!.branch, b.msg.topVia!.branch);
  });

  test("inbound UDP leaving over TCP gets two Record-Routes with r2=on (RFC 5658)", () => {
    const h = new Harness({ serve: "site-b" });
    const fwd = one(requests(h.receive(request("INVITE")), "INVITE"));
    assert.equal(fwd.dest.transport, "tcp");
    assert.equal(fwd.dest.host, B_PRIMARY.host);
    assert.equal(fwd.msg.topVia!.transport, "TCP");
    // Top entry faces the callee (the TCP side), the second the caller (UDP side).
    assert.deepEqual(fwd.msg.headerValues("Record-Route"), [
      `<sip:${ADVERTISE};transport=tcp;lr;r2=on>`,
      `<sip:${ADVERTISE};lr;r2=on>`,
    ]);
    assert.ok(fwd.msg.contentLength !== null, "a stream needs Content-Length");
  });

  test("an in-dialog re-INVITE gets no Record-Route", () => {
    const h = new Harness();
    const out = h.receive(request("INVITE", {
      uri: "sip:bob@10.0.0.11:5060",
      toTag: "uas-1",
      routes: [`<sip:${ADVERTISE};lr>`],
    }));
    const fwd = one(requests(out, "INVITE"));
    assert.equal(fwd.msg.has("Record-Route"), false);
  });

  test("an in-dialog BYE: our Route removed, no Record-Route, to the pair its URI names", () => {
    const h = new Harness({ serve: "site-b" });
    const out = h.receive(request("BYE", {
      uri: "sip:bob@10.0.0.11:5060",
      toTag: "uas-1",
      routes: [`<sip:${ADVERTISE};lr>`],
    }));
    const fwd = one(requests(out, "BYE"));
    assert.equal(fwd.dest.host, PRIMARY.host);
    assert.equal(fwd.msg.has("Route"), false);
    assert.equal(fwd.msg.has("Record-Route"), false);
    assert.equal(fwd.msg.requestUri, "sip:bob@10.0.0.11:5060");
  });

  test("both entries of our double Record-Route are removed from the Route set", () => {
    const h = new Harness();
    const out = h.receive(request("BYE", {
      uri: "sip:bob@10.0.0.11:5060",
      toTag: "uas-1",
      routes: [
        `<sip:${ADVERTISE};transport=tcp;lr;r2=on>`,
        `<sip:${ADVERTISE};lr;r2=on>`,
        "<sip:edge.example.net;lr>",
      ],
    }));
    const fwd = one(requests(out, "BYE"));
    assert.deepEqual(fwd.msg.headerValues("Route"), ["<sip:edge.example.net;lr>"]);
  });

  test("a Route entry naming a listen address counts as ours too", () => {
    const h = new Harness();
    const out = h.receive(request("BYE", {
      uri: "sip:bob@10.0.0.11:5060",
      toTag: "uas-1",
      routes: ["<sip:192.0.2.10:5060;lr>"],
    }));
    assert.equal(one(requests(out, "BYE")).msg.has("Route"), false);
  });

  test("strict-router fix-up: a Request-URI of ours is replaced by the last Route entry", () => {
    const h = new Harness();
    // A member sends a mid-dialog request through a strict router's rules: the route
    // set's first entry (us) is the Request-URI, the remote target the last Route.
    const out = h.receive(
      request("BYE", {
        uri: `sip:${ADVERTISE};lr`,
        toTag: "uas-1",
        vias: ["SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-1"],
        routes: ["<sip:gw.example.net:5070;lr>", "<sip:alice@198.51.100.7:5080>"],
      }),
      PRIMARY,
    );
    const fwd = one(requests(out, "BYE"));
    assert.equal(fwd.msg.requestUri, "sip:alice@198.51.100.7:5080");
    assert.deepEqual(fwd.msg.headerValues("Route"), ["<sip:gw.example.net:5070;lr>"]);
    assert.deepEqual(hostPort(fwd), { host: "gw.example.net", port: 5070 });
  });

  test("strict-router fix-up with a single Route: that entry is the target", () => {
    const h = new Harness();
    const out = h.receive(
      request("BYE", {
        uri: `sip:${ADVERTISE}`,
        toTag: "uas-1",
        vias: ["SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-2"],
        routes: ["<sip:alice@198.51.100.7:5080>"],
      }),
      PRIMARY,
    );
    const fwd = one(requests(out, "BYE"));
    assert.equal(fwd.msg.requestUri, "sip:alice@198.51.100.7:5080");
    assert.equal(fwd.msg.has("Route"), false);
    assert.deepEqual(hostPort(fwd), { host: "198.51.100.7", port: 5080 });
  });
});

describe("routing of requests from pair members", () => {
  const fromPrimary = (extra: Array<[string, string]>, uri = "sip:carol@198.51.100.30:5090") =>
    request("INVITE", {
      uri,
      vias: ["SIP/2.0/UDP 10.0.0.11:5060;branch=z9hG4bK-srv-" + Math.random().toString(36)],
      headers: extra,
    });

  test("X-Genesys-Route from a member is honoured and removed", () => {
    const h = new Harness();
    const out = h.receive(fromPrimary([["X-Genesys-Route", "<sip:gw.example.net:5080>"]]), PRIMARY);
    const fwd = one(requests(out, "INVITE"));
    assert.deepEqual(hostPort(fwd), { host: "gw.example.net", port: 5080 });
    assert.equal(fwd.msg.has("X-Genesys-Route"), false);
    assert.equal(fwd.msg.requestUri, "sip:carol@198.51.100.30:5090");
  });

  test("X-Genesys-Route naming a member of another pair goes to that pair's active member", () => {
    const h = new Harness();
    const out = h.receive(
      fromPrimary([["X-Genesys-Route", "<sip:10.1.0.12:5060;transport=tcp>"]]),
      PRIMARY,
    );
    const fwd = one(requests(out, "INVITE"));
    assert.equal(fwd.dest.host, B_PRIMARY.host, "the active member, not the one named");
    assert.equal(fwd.dest.transport, "tcp");
    assert.equal(fwd.msg.has("X-Genesys-Route"), false);
  });

  test("without X-Genesys-Route a member's request follows its Request-URI", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(fromPrimary([]), PRIMARY), "INVITE"));
    assert.deepEqual(hostPort(fwd), { host: "198.51.100.30", port: 5090 });
  });

  test("an endpoint cannot steer with X-Genesys-Route: its request goes to the served pair", () => {
    const h = new Harness();
    const out = h.receive(
      request("INVITE", {
        uri: "sip:carol@198.51.100.30:5090",
        headers: [["X-Genesys-Route", "<sip:gw.example.net:5080>"]],
      }),
    );
    const fwd = one(requests(out, "INVITE"));
    assert.equal(fwd.dest.host, PRIMARY.host);
  });

  test("the answer to the caller goes back where the request came from (rport)", () => {
    const h = new Harness();
    h.receive(request("INVITE"));
    const trying = one(responses(h.advance(TRYING_DELAY_MS), 100));
    assert.deepEqual(hostPort(trying), { host: UAC.host, port: UAC.port });
    assert.equal(to([trying], UAC).length, 1);
  });
});

describe("transaction state on the caller's side", () => {
  test("a retransmitted INVITE is not forwarded again; the caller gets 100 Trying again", () => {
    const h = new Harness();
    const invite = request("INVITE");
    assert.equal(requests(h.receive(invite), "INVITE").length, 1);
    const again = h.receive(invite);
    assert.deepEqual(summary(requests(again, "INVITE")), []);
    assert.deepEqual(responses(again).map((s) => s.msg.status), [100]);
  });

  test("a request too large for UDP leaves over TCP, with a TCP Via and double Record-Route", () => {
    const h = new Harness();
    const body = "v=0\r\n" + "a=x-padding:".padEnd(1400, "p") + "\r\n";
    const out = h.receive(
      request("INVITE", { body, headers: [["Content-Type", "application/sdp"]] }),
    );
    const fwd = one(requests(out, "INVITE"));
    assert.equal(fwd.dest.transport, "tcp");
    assert.equal(fwd.dest.host, PRIMARY.host);
    assert.equal(fwd.msg.topVia!.transport, "TCP");
    assert.equal(fwd.msg.headerValues("Record-Route").length, 2);
    assert.equal(new TextDecoder().decode(fwd.msg.body), body);
  });
});
