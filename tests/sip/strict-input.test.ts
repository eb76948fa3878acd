// Issue 14 item 3, at the SIP layer: octets a receiver could read differently from the
// sender (NUL, bare CR, bare LF in a header), a Via whose version or `received` is not
// the grammar's, and IP literals in a form other than the standard one are refused by
// the parser and the lazy decoders (400 for a request, drop for a response).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  buildResponse,
  MessageEditor,
  parseMessage,
  parseUri,
  parseVia,
  requestRejection,
  responseRejection,
  SipParseError,
} from "../../src/sip/index.ts";
import { octetProblem } from "./strict-grammar.ts";

const enc = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
};

/** A valid INVITE whose header `name` has the value `value` (text may hold any octet). */
function invite(name: string, value: string): string {
  const h: Record<string, string> = {
    Via: "SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK-1;rport",
    "Max-Forwards": "70",
    From: "<sip:alice@example.com>;tag=f1",
    To: "<sip:bob@example.com>",
    "Call-ID": "c1@uac.example.com",
    CSeq: "1 INVITE",
  };
  h[name] = value;
  const lines = ["INVITE sip:bob@example.com SIP/2.0"];
  for (const [k, v] of Object.entries(h)) lines.push(`${k}: ${v}`);
  lines.push("Content-Length: 0");
  return lines.join("\r\n") + "\r\n\r\n";
}

/** The status parseMessage + requestRejection answer a request with, or "accept". */
function verdict(text: string): string {
  try {
    const msg = parseMessage(enc(text));
    const r = requestRejection(msg, new Set());
    return r === null ? "accept" : `${r.status}`;
  } catch (e) {
    assert.ok(e instanceof SipParseError, String(e));
    assert.equal(e.drop, false, "a request is answered, not dropped");
    assert.ok(e.partial !== null, "the 400 can be built from the indexed request");
    return `${e.status}`;
  }
}

describe("octets a receiver could read differently", () => {
  it("the issue's injection: a bare LF inside Subject is refused with 400", () => {
    const text = invite("Subject", "x\nTo: <sip:injected@evil.example>");
    assert.equal(verdict(text), "400");
  });

  for (const name of ["From", "To", "Via", "Call-ID"]) {
    it(`a NUL inside ${name} is refused with 400`, () => {
      const value = {
        From: "<sip:alice@example.com>;tag=f\u00001",
        To: "<sip:bob\u0000@example.com>",
        Via: "SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK\u0000-1;rport",
        "Call-ID": "c1\u0000@uac.example.com",
      }[name]!;
      assert.equal(verdict(invite(name, value)), "400");
    });
  }

  it("a bare CR inside a header value is refused with 400", () => {
    assert.equal(verdict(invite("Subject", "x\rTo: <sip:injected@evil.example>")), "400");
  });

  it("a CR right before the line's CRLF is a bare CR too", () => {
    assert.equal(verdict(invite("Subject", "x\r")), "400");
  });

  it("a line that is a bare LF alone is refused", () => {
    assert.equal(verdict(invite("Subject", "x\r\n\nTo: <sip:injected@evil.example>")), "400");
  });

  it("folding (CRLF then SP or HTAB) stays valid", () => {
    assert.equal(verdict(invite("Subject", "a\r\n b\r\n\tc")), "accept");
  });

  it("a NUL escaped inside a quoted string is the grammar's (RFC 4475 intmeth.dat)", () => {
    assert.equal(verdict(invite("To", '"N\\\u0000L" <sip:bob@example.com>')), "accept");
    assert.equal(verdict(invite("Subject", '"a\\\u0000" \\\u0000')), "400", "not outside quotes");
    const intmeth = new URL("../../../shared/testdata/rfc4475/intmeth.dat", import.meta.url);
    const bytes = new Uint8Array(readFileSync(decodeURIComponent(intmeth.pathname)));
    assert.equal(requestRejection(parseMessage(bytes), new Set()), null);
  });

  it("NULs in the body are the body's business", () => {
    const text = invite("Subject", "x").replace("Content-Length: 0", "Content-Length: 3") +
      "a\u0000b";
    assert.equal(verdict(text), "accept");
  });

  it("a response with a bare LF, bare CR or NUL in a header, or in its reason, is dropped", () => {
    const base = [
      "Via: SIP/2.0/UDP vipless.test;branch=z9hG4bKvl1",
      "From: <sip:a@example.com>;tag=1",
      "To: <sip:b@example.com>;tag=2",
      "Call-ID: c1",
      "CSeq: 1 INVITE",
    ];
    const variants = [
      ["SIP/2.0 200 OK", ...base, "Subject: x\nTo: <sip:injected@evil.example>"],
      ["SIP/2.0 200 OK", ...base, "Subject: x\rTo: <sip:injected@evil.example>"],
      ["SIP/2.0 200 OK", ...base, "Subject: x\u0000y"],
      ["SIP/2.0 200 O\nTo: <sip:injected@evil.example>", ...base],
      ["SIP/2.0 200 O\u0000K", ...base],
    ];
    for (const lines of variants) {
      const text = [...lines, "Content-Length: 0", "", ""].join("\r\n");
      assert.throws(
        () => parseMessage(enc(text)),
        (e: unknown) => e instanceof SipParseError && e.drop,
        JSON.stringify(lines[lines.length - 1]),
      );
    }
  });

  it("the 400 to such a request is itself clean: the offending octets become spaces", () => {
    for (const value of ["x\nTo: <sip:injected@evil.example>", "x\ry", "x\u0000y"]) {
      let partial = null;
      try {
        parseMessage(enc(invite("Call-ID", value)));
      } catch (e) {
        if (e instanceof SipParseError) partial = e.partial;
      }
      assert.ok(partial !== null, JSON.stringify(value));
      const bytes = buildResponse(partial, 400, "Bad Request");
      assert.equal(octetProblem(bytes), null, JSON.stringify(value));
    }
  });
});

describe("Via: SIP/2.0, a standard received, a host in standard form", () => {
  const ok = (v: string) => assert.doesNotThrow(() => parseVia(v), v);
  const bad = (v: string) => assert.throws(() => parseVia(v), SipParseError, v);

  it("received=0x10.0.0.1 is refused (inet_aton would read 16.0.0.1)", () => {
    bad("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=0x10.0.0.1");
  });

  it("received must be a dotted quad or IPv6 in standard form, with a value", () => {
    for (const r of ["010.0.0.1", "10.1", "167772161", "1.2.3.4.", "host.example.com", "1::2::3"]) {
      bad(`SIP/2.0/UDP h.example.com;received=${r}`);
    }
    bad("SIP/2.0/UDP h.example.com;received");
    for (const r of ["192.0.2.1", "2001:db8::1", "[2001:db8::1]", "::ffff:192.0.2.1"]) {
      ok(`SIP/2.0/UDP h.example.com;received=${r}`);
    }
  });

  it("the protocol must be SIP/2.0 (any letter case, spaces allowed around /)", () => {
    bad("SIP/3.0/UDP h.example.com");
    bad("FOO/2.0/UDP h.example.com");
    bad("SIP/2.00/UDP h.example.com");
    ok("sip / 2.0 / UDP h.example.com");
  });

  it("a sent-by host that is an IP literal in another form is refused", () => {
    for (const h of ["0x10.0.0.1", "010.0.0.1", "10.1", "167772161", "0x7f000001", "1.2.3.4."]) {
      bad(`SIP/2.0/UDP ${h}:5060;branch=z9hG4bK1`);
    }
    for (const h of ["[::zz]", "[1::2::3]", "[192.0.2.1]"]) bad(`SIP/2.0/UDP ${h};branch=z9hG4bK1`);
    bad("SIP/2.0/UDP a..example.com");
    bad("SIP/2.0/UDP .example.com");
  });

  it("hostnames, dotted quads and IPv6 references are fine", () => {
    for (
      const h of [
        "10.0.0.1",
        "host1.example.com",
        "example.com.",
        "sip-1_a.example.com",
        "localhost",
        "[2001:db8::9]",
        "[::ffff:192.0.2.1]",
      ]
    ) ok(`SIP/2.0/UDP ${h};branch=z9hG4bK1`);
  });

  it("maddr names a host in standard form too", () => {
    bad("SIP/2.0/UDP h.example.com;maddr=0x10.0.0.1");
    ok("SIP/2.0/UDP h.example.com;maddr=224.0.0.1");
  });

  it("a request with such a Via is refused with 400, a response is dropped", () => {
    const req = invite("Via", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=0x10.0.0.1");
    assert.equal(verdict(req), "400");
    const res = [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP vipless.test;branch=z9hG4bKvl1",
      "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=0x10.0.0.1",
      "From: <sip:a@example.com>;tag=1",
      "To: <sip:b@example.com>;tag=2",
      "Call-ID: c1",
      "CSeq: 1 INVITE",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    assert.notEqual(responseRejection(parseMessage(enc(res))), null);
  });
});

describe("URI hosts in standard form", () => {
  it("an IP literal in another form is refused in a sip: URI", () => {
    for (const h of ["0x7f.0.0.1", "017.0.0.1", "127.1", "2130706433", "0x7f000001", "1.2.3.4."]) {
      assert.throws(() => parseUri(`sip:bob@${h}:5060`), SipParseError, h);
      assert.throws(() => parseUri(`sip:${h};lr`), SipParseError, h);
    }
    assert.throws(() => parseUri("sip:bob@a..b"), SipParseError);
  });

  it("hostnames, dotted quads and IPv6 references are fine", () => {
    for (const h of ["127.0.0.1", "example.com", "example.com.", "a-b_c.example", "[::1]"]) {
      assert.equal(parseUri(`sip:bob@${h}`).host, h);
    }
  });

  it("a Request-URI or Route naming one is refused with 400", () => {
    const uri = invite("Subject", "x").replace("sip:bob@example.com SIP", "sip:bob@0x0a.0.0.1 SIP");
    assert.equal(verdict(uri), "400");
    const route = invite("Route", "<sip:proxy.example.com;lr>, <sip:010.0.0.1;lr>");
    assert.equal(verdict(route), "400");
  });
});

describe("what is forwarded is written as the grammar writes it", () => {
  it("a tolerated Request-Line (runs of SP, trailing SP, lower-case version) goes out canonical", () => {
    const text = invite("Subject", "x").replace(
      "INVITE sip:bob@example.com SIP/2.0",
      "INVITE   sip:bob@example.com  sip/2.0 ",
    );
    const msg = parseMessage(enc(text));
    const out = parseMessage(
      new MessageEditor(msg).pushVia("SIP/2.0/UDP p.example;branch=z9hG4bKp").toBytes(),
    );
    assert.equal(out.startLine, "INVITE sip:bob@example.com SIP/2.0");
    assert.equal(out.vias.length, 2);
    assert.equal(octetProblem(out.raw), null);
  });

  it("with a new Request-URI (strict-router fix-up) too", () => {
    const text = invite("Subject", "x").replace("INVITE sip:bob@", "INVITE  sip:bob@");
    const out = new MessageEditor(parseMessage(enc(text))).setRequestUri("sip:carol@example.org");
    assert.equal(parseMessage(out.toBytes()).startLine, "INVITE sip:carol@example.org SIP/2.0");
  });
});
