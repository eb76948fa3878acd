// Record-Route and Via over TLS: `transport=tls` and the TLS port, and the double
// Record-Route (RFC 5658) when a request crosses between TLS and UDP or TCP, each entry
// with its own transport's port.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { forwardRequest } from "../../src/proxy/forward.ts";
import { parseMessage } from "../../src/sip/index.ts";

const INVITE = [
  "INVITE sip:bob@example.com SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKa1",
  "Max-Forwards: 70",
  "From: <sip:alice@example.com>;tag=1",
  "To: <sip:bob@example.com>",
  "Call-ID: tls-rr-1",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@192.0.2.1:5062>",
  "Content-Length: 0",
  "",
  "",
].join("\r\n");

function forward(inbound: "udp" | "tls", outbound: "udp" | "tcp" | "tls", tlsAlias = false) {
  const request = parseMessage(new TextEncoder().encode(INVITE));
  const out = forwardRequest(
    {
      request,
      source: { transport: inbound, host: "192.0.2.1", port: 5062 },
      routes: { newRequestUri: null, popRoutes: 0 },
      removeXGenesysRoute: false,
      viaHost: "proxy.example.com:5060",
      tlsViaHost: "proxy.example.com:5061",
      tlsAlias,
    },
    { transport: outbound, host: "10.0.0.11", port: 5061 },
    "z9hG4bKvp1",
  );
  return parseMessage(out.bytes);
}

describe("Record-Route and Via over TLS", () => {
  test("TLS to TLS: one Record-Route with transport=tls and the TLS port; Via TLS", () => {
    const msg = forward("tls", "tls");
    assert.deepEqual(msg.headerValues("Record-Route"), [
      "<sip:proxy.example.com:5061;transport=tls;lr>",
    ]);
    assert.equal(msg.topVia!.transport, "TLS");
    assert.equal(msg.topVia!.port, 5061);
  });

  test("UDP in, TLS out: two entries, the top one facing the TLS side (RFC 5658)", () => {
    assert.deepEqual(forward("udp", "tls").headerValues("Record-Route"), [
      "<sip:proxy.example.com:5061;transport=tls;lr;r2=on>",
      "<sip:proxy.example.com:5060;lr;r2=on>",
    ]);
  });

  test("TLS in, TCP out: the bottom entry names TLS and its port", () => {
    const msg = forward("tls", "tcp");
    assert.deepEqual(msg.headerValues("Record-Route"), [
      "<sip:proxy.example.com:5060;transport=tcp;lr;r2=on>",
      "<sip:proxy.example.com:5061;transport=tls;lr;r2=on>",
    ]);
    assert.equal(msg.topVia!.port, 5060);
  });

  test("with tls.client_cert our Via over TLS offers the connection (RFC 5923 alias)", () => {
    assert.ok(forward("udp", "tls", true).topVia!.params.has("alias"));
    assert.ok(!forward("udp", "tls", false).topVia!.params.has("alias"));
    // Over UDP and TCP there is no certificate to prove it: no alias.
    assert.ok(!forward("tls", "tcp", true).topVia!.params.has("alias"));
    assert.ok(!forward("tls", "udp", true).topVia!.params.has("alias"));
  });
});
