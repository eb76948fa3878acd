import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildAck,
  buildCancel,
  buildRequest,
  buildResponse,
  MessageEditor,
  parseMessage,
  requestRejection,
  responseRejection,
} from "../../src/sip/index.ts";
import { INVITE_LINES, sip } from "./fixtures.ts";

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const invite = () => parseMessage(sip(INVITE_LINES));

describe("MessageEditor", () => {
  it("applies the forwarding edits and leaves every other byte alone", () => {
    const out = new MessageEditor(invite())
      .popRoute()
      .pushVia("SIP/2.0/UDP proxy.example.net;branch=z9hG4bKp1")
      .pushRecordRoute("<sip:proxy.example.net;lr>")
      .setMaxForwards(69)
      .toBytes();
    const expected = [...INVITE_LINES];
    expected.splice(1, 0, "Via: SIP/2.0/UDP proxy.example.net;branch=z9hG4bKp1");
    expected.splice(2, 0, "Record-Route: <sip:proxy.example.net;lr>");
    expected[5] = "Max-Forwards: 69";
    expected[6] = "Route: <sip:next.example.org;lr>";
    assert.equal(text(out), expected.join("\r\n"));
  });

  it("pops a Route alone on its line and a Via for responses", () => {
    const m = invite();
    const out = parseMessage(new MessageEditor(m).popRoute().popRoute().popRoute().toBytes());
    assert.deepEqual(out.routes, []);
    const resp = parseMessage(buildResponse(m, 180, "Ringing", { toTag: "t1" }));
    const relayed = parseMessage(new MessageEditor(resp).popVia().toBytes());
    assert.deepEqual(relayed.vias.map((v) => v.branch), ["z9hG4bKold", "z9hG4bKv6"]);
    assert.equal(relayed.to?.tag, "t1");
  });

  it("sets the Request-URI, inserts Max-Forwards, adds and removes headers", () => {
    const m = parseMessage(
      sip([
        "OPTIONS sip:a@b SIP/2.0",
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
        "X-Genesys-Route: s",
        "Content-Length: 0",
        "",
        "",
      ]),
    );
    const out = parseMessage(
      new MessageEditor(m).setRequestUri("sip:c@d").decrementMaxForwards()
        .removeHeader("x-genesys-route").addHeader("X-Test", "1").toBytes(),
    );
    assert.equal(out.requestUri, "sip:c@d");
    assert.equal(out.maxForwards, 70);
    assert.equal(out.xGenesysRoute, null);
    assert.equal(out.header("x-test"), "1");
  });

  it("writes received and fills a bare rport in the top Via", () => {
    const out = parseMessage(
      new MessageEditor(invite()).setTopViaReceived("198.51.100.7", 40123).toBytes(),
    );
    assert.equal(out.topVia?.received, "198.51.100.7");
    assert.equal(out.topVia?.rport, 40123);
    assert.equal(out.topVia?.branch, "z9hG4bK74bf9");
    assert.equal(out.vias.length, 3);
  });
});

describe("builders", () => {
  it("builds a response that copies Via, From, To (+tag), Call-ID, CSeq", () => {
    const m = invite();
    const r = parseMessage(
      buildResponse(m, 486, "Busy Here", { headers: [["Retry-After", "30"]] }),
    );
    assert.equal(r.status, 486);
    assert.equal(r.reason, "Busy Here");
    assert.equal(r.vias.length, 3);
    assert.equal(r.from?.tag, "9fxced76sl");
    assert.notEqual(r.to?.tag, null);
    assert.equal(r.callId, m.callId);
    assert.deepEqual(r.cseq, { seq: 2, method: "INVITE" });
    assert.equal(r.contentLength, 0);
    assert.equal(r.header("retry-after"), "30");
    // A retransmission gets the same tag; a 100 Trying gets none.
    const again = parseMessage(buildResponse(m, 486, "Busy Here"));
    assert.equal(again.to?.tag, r.to?.tag);
    assert.equal(parseMessage(buildResponse(m, 100, "Trying")).to?.tag, null);
  });

  it("builds an OPTIONS probe that passes validation", () => {
    const p = parseMessage(buildRequest({
      method: "OPTIONS",
      uri: "sip:10.0.0.11:5060",
      via: "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKprobe1",
      from: "<sip:vipless@10.0.0.5>;tag=abc",
      to: "<sip:10.0.0.11:5060>",
      callId: "probe-1@10.0.0.5",
      cseq: 7,
      userAgent: "vipless/0.1",
    }));
    assert.equal(requestRejection(p, new Set()), null);
    assert.deepEqual(p.cseq, { seq: 7, method: "OPTIONS" });
    assert.equal(p.header("user-agent"), "vipless/0.1");
  });

  it("builds CANCEL and ACK per RFC 3261 §9.1 and §17.1.1.3", () => {
    const m = invite();
    const c = parseMessage(buildCancel(m));
    assert.equal(c.method, "CANCEL");
    assert.equal(c.requestUri, m.requestUri);
    assert.equal(c.vias.length, 1);
    assert.equal(c.topVia?.branch, "z9hG4bK74bf9");
    assert.equal(c.routes.length, 3);
    assert.equal(c.to?.tag, null);
    assert.deepEqual(c.cseq, { seq: 2, method: "CANCEL" });
    const resp = parseMessage(buildResponse(m, 404, "Not Found", { toTag: "x9" }));
    const a = parseMessage(buildAck(m, resp));
    assert.equal(a.method, "ACK");
    assert.equal(a.to?.tag, "x9");
    assert.equal(a.vias.length, 1);
    assert.deepEqual(a.cseq, { seq: 2, method: "ACK" });
    assert.equal(requestRejection(a, new Set()), null);
  });
});

describe("validation", () => {
  it("answers 420 listing unsupported Proxy-Require tags, accepts supported ones", () => {
    const lines = [...INVITE_LINES];
    lines.splice(1, 0, "Proxy-Require: foo, bar");
    const m = parseMessage(sip(lines));
    assert.deepEqual(requestRejection(m, new Set(["foo"]))?.headers, [["Unsupported", "bar"]]);
    assert.equal(requestRejection(m, new Set(["foo", "bar"])), null);
  });

  it("drops responses with a multicast maddr or received", () => {
    const base = [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
      "From: <sip:a@b>;tag=1",
      "To: <sip:c@d>;tag=2",
      "Call-ID: x",
      "CSeq: 1 OPTIONS",
      "Content-Length: 0",
      "",
      "",
    ];
    assert.equal(responseRejection(parseMessage(sip(base))), null);
    const mc = [...base];
    mc[1] = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;maddr=224.0.0.1";
    assert.notEqual(responseRejection(parseMessage(sip(mc))), null);
    mc[1] = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;received=255.255.255.255";
    assert.notEqual(responseRejection(parseMessage(sip(mc))), null);
  });
});
