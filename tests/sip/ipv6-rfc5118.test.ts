// RFC 5118 (SIP torture tests for IPv6) cases, written as fixtures from that RFC.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  hostPortKey,
  MessageEditor,
  parseMessage,
  parseUri,
  requestRejection,
  SipParseError,
  uriTransport,
} from "../../src/sip/index.ts";
import { sip } from "./fixtures.ts";

const register = (ruri: string, extra: string[] = []): Uint8Array =>
  sip([
    `REGISTER ${ruri} SIP/2.0`,
    "To: sip:user@example.com",
    "From: sip:user@example.com;tag=81x2",
    "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111",
    "Call-ID: SSG9559905523997077@hlau_4100",
    "Max-Forwards: 70",
    'Contact: "Caller" <sip:caller@[2001:db8::1]>',
    "CSeq: 98176 REGISTER",
    ...extra,
    "Content-Length: 0",
    "",
    "",
  ]);

/** Outcome of a request as a proxy sees it. */
function outcome(bytes: Uint8Array): string {
  try {
    const r = requestRejection(parseMessage(bytes), new Set());
    return r === null ? "accept" : `reject ${r.status}`;
  } catch (e) {
    assert.ok(e instanceof SipParseError);
    return `reject ${e.status}`;
  }
}

describe("RFC 5118 IPv6 torture cases", () => {
  it("4.1 valid IPv6 references in Request-URI, Via and Contact", () => {
    const m = parseMessage(register("sip:[2001:db8::10]"));
    assert.equal(outcome(register("sip:[2001:db8::10]")), "accept");
    assert.equal(m.uri.host, "[2001:db8::10]");
    assert.equal(m.topVia?.host, "[2001:db8::9:1]");
    assert.equal(parseUri(m.contacts[0].uri).host, "[2001:db8::1]");
  });

  it("4.2 an IPv6 address without brackets in the Request-URI is rejected with 400", () => {
    assert.equal(outcome(register("sip:2001:db8::10")), "reject 400");
  });

  it("4.3 port ambiguous: [2001:db8::10:5070] is an address, no port", () => {
    const u = parseMessage(register("sip:[2001:db8::10:5070]")).uri;
    assert.equal(u.host, "[2001:db8::10:5070]");
    assert.equal(u.port, null);
  });

  it("4.4 port unambiguous: [2001:db8::10]:5070", () => {
    const u = parseMessage(register("sip:[2001:db8::10]:5070")).uri;
    assert.equal(u.host, "[2001:db8::10]");
    assert.equal(u.port, 5070);
  });

  it("4.5 received with and without brackets in Via", () => {
    for (const received of ["[2001:db8::9:255]", "2001:db8::9:255"]) {
      const m = parseMessage(
        sip([
          "OPTIONS sip:[2001:db8::10] SIP/2.0",
          `Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;received=${received}`,
          "To: sip:[2001:db8::10]",
          "From: sip:user@example.com;tag=81x2",
          "Call-ID: SSG95523997077@hlau_4100",
          "Max-Forwards: 70",
          "CSeq: 921 OPTIONS",
          "Content-Length: 0",
          "",
          "",
        ]),
      );
      assert.equal(m.topVia?.port, 6050);
      assert.equal(m.topVia?.received, received);
      assert.equal(hostPortKey(received, null), "[2001:db8::9:255]:5060");
    }
  });

  it("4.7 IPv4 and IPv6 Vias in one message", () => {
    const m = parseMessage(
      register("sip:[2001:db8::10]", [
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144",
      ]),
    );
    assert.deepEqual(m.vias.map((v) => v.host), ["[2001:db8::9:1]", "192.0.2.1"]);
  });

  it("4.9 IPv4-mapped IPv6 addresses", () => {
    const u = parseUri("sip:caller@[::ffff:192.0.2.10]");
    assert.equal(u.host, "[::ffff:192.0.2.10]");
    assert.equal(hostPortKey(u.host, u.port), "[::ffff:c000:20a]:5060");
  });

  it("4.6 and 4.8 IPv6 (and mixed) addresses in the SDP body pass through forwarding byte for byte", () => {
    const sdp = [
      "v=0",
      "o=assistant 971731711378798081 0 IN IP6 2001:db8::20",
      "s=Live video feed for today's meeting",
      "c=IN IP6 2001:db8::20",
      "t=3338481189 3370017201",
      "m=audio 6000 RTP/AVP 2",
      "a=rtpmap:2 G726-32/8000",
      "m=video 6024 RTP/AVP 107",
      "c=IN IP4 192.0.2.1",
      "a=rtpmap:107 H263-1998/90000",
      "",
    ].join("\r\n");
    const bytes = sip([
      "INVITE sip:user@[2001:db8::10] SIP/2.0",
      "To: sip:user@[2001:db8::10]",
      "From: sip:user@example.com;tag=81x2",
      "Via: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111",
      "Call-ID: SSG9559905523997077@hlau_4100",
      "Contact: sip:user@[2001:db8::20]",
      "CSeq: 8612 INVITE",
      "Max-Forwards: 70",
      "Content-Type: application/sdp",
      `Content-Length: ${sdp.length}`,
      "",
      sdp,
    ]);
    const m = parseMessage(bytes);
    assert.equal(outcome(bytes), "accept");
    const out = parseMessage(
      new MessageEditor(m)
        .pushVia("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKproxy;rport")
        .pushRecordRoute("<sip:[2001:db8::1];lr>")
        .decrementMaxForwards()
        .toBytes(),
    );
    assert.equal(new TextDecoder().decode(out.body), sdp);
    assert.deepEqual(out.vias.map((v) => v.host), ["[2001:db8::1]", "[2001:db8::20]"]);
  });

  it("4.10 the RFC 3261 ABNF bug: three colons are rejected, two accepted", () => {
    assert.equal(outcome(register("sip:[2001:db8:::192.0.2.1]")), "reject 400");
    assert.equal(outcome(register("sip:[2001:db8::192.0.2.1]")), "accept");
  });

  it("rejects malformed IPv6 references", () => {
    for (const bad of ["sip:[2001:db8::10", "sip:[2001:db8:::10]", "sip:[1:2:3:4:5:6:7:8:9]"]) {
      assert.throws(() => parseUri(bad), SipParseError, bad);
    }
  });

  it("normalises host keys so equal addresses compare equal", () => {
    assert.equal(hostPortKey("[2001:DB8:0:0:0:0:0:1]", 5060), hostPortKey("2001:db8::1", null));
    assert.equal(hostPortKey("Example.COM", null, true), "example.com:5061");
    assert.equal(uriTransport(parseUri("sip:[2001:db8::1]:5060;transport=TCP")), "tcp");
    assert.equal(uriTransport(parseUri("sips:[2001:db8::1]")), "tls");
    assert.equal(uriTransport(parseUri("sip:[2001:db8::1]")), "udp");
  });
});

describe("URI parser", () => {
  it("parses user, password, host, port, params and headers with escapes", () => {
    const u = parseUri(
      "sip:al%69ce:secret@Example.com:5080;transport=tcp;lr;maddr=239.1.1.1?Subject=hi%20there&Priority=urgent",
    );
    assert.equal(u.scheme, "sip");
    assert.equal(u.user, "alice");
    assert.equal(u.password, "secret");
    assert.equal(u.host, "example.com");
    assert.equal(u.port, 5080);
    assert.equal(u.params.get("transport"), "tcp");
    assert.equal(u.params.get("lr"), null);
    assert.equal(u.headers.get("Subject"), "hi there");
  });

  it("parses tel: and keeps other schemes opaque", () => {
    const t = parseUri("tel:+1-201-555-0123;phone-context=example.com");
    assert.equal(t.user, "+1-201-555-0123");
    assert.equal(t.params.get("phone-context"), "example.com");
    const o = parseUri("urn:service:sos");
    assert.equal(o.scheme, "urn");
    assert.equal(o.raw, "urn:service:sos");
  });

  it("rejects a bad port and a missing host", () => {
    assert.throws(() => parseUri("sip:a@example.com:99999"), SipParseError);
    assert.throws(() => parseUri("sip:a@"), SipParseError);
    assert.throws(() => parseUri("nocolon"), SipParseError);
  });
});
