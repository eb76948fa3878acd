import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseMessage, SipParseError } from "../../src/sip/index.ts";
import { INVITE_LINES, sip } from "./fixtures.ts";

const dir = new URL("../../../shared/testdata/rfc4475/", import.meta.url);
const torture = (name: string): Uint8Array =>
  new Uint8Array(readFileSync(decodeURIComponent(new URL(name, dir).pathname)));

describe("typed accessors", () => {
  const msg = parseMessage(sip(INVITE_LINES));

  it("reads the request line", () => {
    assert.equal(msg.isRequest, true);
    assert.equal(msg.method, "INVITE");
    assert.equal(msg.requestUri, "sip:bob@example.com");
    assert.equal(msg.uri.user, "bob");
    assert.equal(msg.uri.host, "example.com");
  });

  it("reads every Via entry across lines and commas", () => {
    const vias = msg.vias;
    assert.equal(vias.length, 3);
    assert.deepEqual(
      vias.map((v) => [v.transport, v.host, v.port, v.branch]),
      [
        ["UDP", "192.0.2.1", 5060, "z9hG4bK74bf9"],
        ["TCP", "192.0.2.9", null, "z9hG4bKold"],
        ["UDP", "[2001:db8::9]", 5070, "z9hG4bKv6"],
      ],
    );
    assert.equal(vias[0].rport, true);
    assert.equal(vias[1].rport, null);
    assert.equal(msg.topVia?.branch, "z9hG4bK74bf9");
  });

  it("reads From, To, Call-ID, CSeq, Max-Forwards, Content-Length", () => {
    assert.equal(msg.from?.displayName, "Alice");
    assert.equal(msg.from?.tag, "9fxced76sl");
    assert.equal(msg.to?.displayName, "Bob");
    assert.equal(msg.to?.tag, null);
    assert.equal(msg.to?.uri, "sip:bob@example.com");
    assert.equal(msg.callId, "3848276298220188511@atlanta.example.com");
    assert.deepEqual(msg.cseq, { seq: 2, method: "INVITE" });
    assert.equal(msg.maxForwards, 70);
    assert.equal(msg.contentLength, 5);
    assert.equal(new TextDecoder().decode(msg.body), "hello");
  });

  it("reads Route, Contact, X-Genesys-Route", () => {
    assert.deepEqual(msg.routes.map((r) => r.uri), [
      "sip:proxy.example.net;lr",
      "sip:next.example.org;lr",
      "sip:last.example.org;lr",
    ]);
    assert.equal(msg.contacts[0].params.get("expires"), "60");
    assert.equal(msg.xGenesysRoute, "site-b");
    assert.deepEqual(msg.recordRoutes, []);
  });

  it("never splits the authorization family, splits list headers", () => {
    assert.equal(msg.headerValues("proxy-authorization").length, 1);
    assert.equal(msg.headerValues("Route").length, 3);
    assert.equal(msg.header("route"), "<sip:proxy.example.net;lr>");
  });

  it("decodes the RFC 4475 wsinv message (folding, compact forms, odd spacing)", () => {
    const m = parseMessage(torture("wsinv.dat"));
    assert.equal(m.to?.tag, "1918181833n");
    assert.equal(m.from?.displayName, 'J Rosenberg \\"');
    assert.equal(m.from?.tag, "98asjd8");
    assert.equal(m.maxForwards, 68);
    assert.deepEqual(m.cseq, { seq: 9, method: "INVITE" });
    assert.deepEqual(m.vias.map((v) => [v.transport, v.host, v.branch]), [
      ["UDP", "192.0.2.2", "390skdjuw"],
      ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
      ["UDP", "192.168.255.111", "z9hG4bK30239"],
    ]);
    assert.equal(m.header("NewFangledHeader"), "newfangled value continued newfangled value");
    assert.equal(m.contacts[0].params.get("newparam"), "newvalue");
    assert.equal(m.contacts[0].params.get("q"), "0.33");
    assert.equal(m.header("subject"), "");
    assert.equal(m.body.length, 150);
  });

  it("keeps escaped NULs and decodes escapes (esc01, escnull)", () => {
    const m = parseMessage(torture("escnull.dat"));
    assert.equal(m.contacts.length, 2);
    const u = parseMessage(torture("esc01.dat")).uri;
    assert.equal(u.user, "sips:user@example.com");
    assert.equal(u.host, "example.net");
  });

  it("shows a UTF-8 reason phrase as text (unreason)", () => {
    const m = parseMessage(torture("unreason.dat"));
    assert.equal(m.status, 200);
    assert.match(m.reason, /^= 2\*\*3 \* 5\*\*2 но сто девяносто девять/);
  });

  it("ignores octets after Content-Length in a datagram (dblreq)", () => {
    const m = parseMessage(torture("dblreq.dat"));
    assert.equal(m.method, "REGISTER");
    assert.equal(m.body.length, 0);
    assert.equal(m.byteLength < torture("dblreq.dat").length, true);
  });

  it("throws only SipParseError with the status to answer", () => {
    const e = assert.throws(
      () => parseMessage(sip(["OPTIONS sip:a@b SIP/3.0", "Via: SIP/2.0/UDP h", "", ""])),
      (err: unknown) => err instanceof SipParseError && err.status === 505,
    );
    void e;
    assert.throws(
      () => parseMessage(sip(["SIP/2.0 2000 OK", "", ""])),
      (err: unknown) => err instanceof SipParseError && err.drop,
    );
    assert.throws(
      () => parseMessage(sip(["OPTIONS mailto:a@b SIP/2.0", "Call-ID: x", "", ""])),
      (err: unknown) =>
        err instanceof SipParseError && err.status === 416 && err.partial?.callId === "x",
    );
  });
});
