// The peers' own text helpers: if they misread a message, every proxy test is suspect.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  buildRequest,
  getParam,
  parseMessage,
  parseUri,
  setParam,
  splitList,
  uriOf,
} from "./sip-text.ts";
import { SipFramer } from "./sip-framer.ts";

const enc = new TextEncoder();

describe("sip-text", () => {
  it("reads compact header names, folded lines and comma lists", () => {
    const m = parseMessage(
      "INVITE sip:bob@example.com SIP/2.0\r\n" +
        "v: SIP/2.0/UDP a.example:5060;branch=z9hG4bK1, SIP/2.0/TCP b.example;branch=z9hG4bK2\r\n" +
        "Via: SIP/2.0/UDP c.example;branch=z9hG4bK3\r\n" +
        "f: <sip:alice@example.com>;tag=1\r\n" +
        "t: <sip:bob@example.com>\r\n" +
        "i: abc@host\r\n" +
        "Subject: one\r\n  two\r\n" +
        'm: "Smith, Bob" <sip:bob@h;x=1,2>\r\n' +
        "l: 0\r\n\r\n",
    );
    assert.equal(m.kind, "request");
    assert.equal(m.method, "INVITE");
    assert.equal(m.uri, "sip:bob@example.com");
    assert.equal(m.getAll("via").length, 3);
    assert.equal(getParam(m.getAll("Via")[1], "branch"), "z9hG4bK2");
    assert.equal(m.get("call-id"), "abc@host");
    assert.equal(m.get("subject"), "one two");
    assert.deepEqual(m.getAll("contact"), ['"Smith, Bob" <sip:bob@h;x=1,2>']);
    assert.equal(getParam(m.get("from")!, "tag"), "1");
    assert.equal(getParam(m.get("to")!, "tag"), undefined);
  });

  it("cuts the body to Content-Length in bytes and reads responses", () => {
    const m = parseMessage(
      "SIP/2.0 486 Busy Here\r\nCSeq: 7 INVITE\r\nContent-Length: 4\r\n\r\nhé!extra",
    );
    assert.equal(m.status, 486);
    assert.equal(m.reason, "Busy Here");
    assert.equal(m.method, "INVITE");
    assert.equal(m.body, "hé!");
  });

  it("rejects text that is not SIP", () => {
    assert.throws(() => parseMessage("HELLO\r\n\r\n"));
    assert.throws(() => parseMessage("OPTIONS sip:a SIP/2.0\r\nno colon here\r\n\r\n"));
  });

  it("builds messages with a correct Content-Length", () => {
    const text = buildRequest("MESSAGE", "sip:b@h", [["Content-Length", "99"], ["X", "y"]], "é");
    const m = parseMessage(text);
    assert.equal(m.get("content-length"), "2");
    assert.equal(m.body, "é");
    assert.equal(m.headers.filter(([n]) => n === "Content-Length").length, 1);
  });

  it("params, URIs and lists", () => {
    assert.equal(setParam("<sip:a@h;lr>;tag=1", "tag", "2"), "<sip:a@h;lr>;tag=2");
    assert.equal(
      setParam("SIP/2.0/UDP h:5060;branch=z9hG4bKx", "received", "1.2.3.4"),
      "SIP/2.0/UDP h:5060;branch=z9hG4bKx;received=1.2.3.4",
    );
    assert.equal(uriOf('"A" <sip:a@h:5;lr>;tag=1'), "sip:a@h:5;lr");
    const u = parseUri("sip:bob@[::1]:5070;transport=tcp;lr");
    assert.deepEqual([u.user, u.host, u.port, u.params], ["bob", "::1", 5070, {
      transport: "tcp",
      lr: "",
    }]);
    assert.deepEqual(splitList("<sip:a;lr>, <sip:b;lr>"), ["<sip:a;lr>", "<sip:b;lr>"]);
  });
});

describe("SipFramer", () => {
  const msg = (body: string) =>
    `MESSAGE sip:b@h SIP/2.0\r\nl: ${enc.encode(body).byteLength}\r\n\r\n${body}`;

  it("splits two messages in one chunk and skips keep-alive CRLFs", () => {
    const f = new SipFramer();
    const out = f.push(enc.encode("\r\n\r\n" + msg("one") + msg("twø")));
    assert.deepEqual(out.map((b) => parseMessage(b).body), ["one", "twø"]);
    assert.equal(f.pending, 0);
  });

  it("waits for a message split across chunks, byte by byte", () => {
    const f = new SipFramer();
    const bytes = enc.encode(msg("hello"));
    const got: Uint8Array[] = [];
    for (let i = 0; i < bytes.byteLength; i++) got.push(...f.push(bytes.subarray(i, i + 1)));
    assert.equal(got.length, 1);
    assert.equal(parseMessage(got[0]).body, "hello");
  });
});
