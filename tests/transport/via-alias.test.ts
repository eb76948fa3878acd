// What of a TLS request asks for RFC 5923 alias (the top Via only), and what proves it:
// the unit below stream-transport's alias handling (tls-alias.test.ts runs it on sockets).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { aliasOf, aliasRefusal } from "../../src/transport/via-alias.ts";

const enc = new TextEncoder();
const request = (vias: string[], body = "") =>
  enc.encode(
    ["OPTIONS sip:a@example.com SIP/2.0", ...vias, "Call-ID: x", "CSeq: 1 OPTIONS"].join("\r\n") +
      `\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );

describe("aliasOf", () => {
  it("the top Via's sent-by when it is over TLS and carries alias; 5061 without a port", () => {
    assert.deepEqual(
      aliasOf(request(["Via: SIP/2.0/TLS ua.example.com:5071;branch=z9hG4bK1;alias"])),
      {
        host: "ua.example.com",
        port: 5071,
      },
    );
    assert.deepEqual(aliasOf(request(["v: SIP/2.0/tls [2001:db8::1];ALIAS;branch=z9hG4bK1"])), {
      host: "2001:db8::1",
      port: 5061,
    });
  });

  it("nothing for alias below the top Via, over UDP, in the body, or in a response", () => {
    assert.equal(
      aliasOf(request(["Via: SIP/2.0/TLS a.example.com;branch=z9hG4bK1, SIP/2.0/TLS b;alias"])),
      null,
    );
    assert.equal(
      aliasOf(
        request(["Via: SIP/2.0/TLS a.example.com;branch=z9hG4bK1", "Via: SIP/2.0/TLS b;alias"]),
      ),
      null,
    );
    assert.equal(aliasOf(request(["Via: SIP/2.0/UDP a.example.com;alias;branch=z9hG4bK1"])), null);
    assert.equal(
      aliasOf(request(["Via: SIP/2.0/TLS a.example.com;branch=z9hG4bK1"], "alias")),
      null,
    );
    assert.equal(aliasOf(enc.encode("SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS a;alias\r\n\r\n")), null);
    // A malformed Via is the SIP core's to answer, not an alias.
    assert.equal(aliasOf(request(["Via: SIP/2.0/TLS ;alias"])), null);
  });
});

describe("aliasRefusal", () => {
  const cert = (names: string[], verified = true) => ({ verified, names });
  it("a verified certificate naming the host (DNS or IP, any case or spelling) proves it", () => {
    assert.equal(aliasRefusal(cert(["UA.example.com"]), "ua.example.com"), null);
    assert.equal(aliasRefusal(cert(["2001:DB8:0:0:0:0:0:1"]), "2001:db8::1"), null);
  });
  it("no certificate, an unverified one, another name or a wildcard proves nothing", () => {
    assert.equal(aliasRefusal(null, "ua.example.com"), "no-certificate");
    assert.equal(
      aliasRefusal(cert(["ua.example.com"], false), "ua.example.com"),
      "unverified-certificate",
    );
    assert.equal(aliasRefusal(cert(["other.example.com"]), "ua.example.com"), "name-mismatch");
    assert.equal(aliasRefusal(cert(["*.example.com"]), "ua.example.com"), "name-mismatch");
  });
});
