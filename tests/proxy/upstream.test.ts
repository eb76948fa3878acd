// Where responses go (src/proxy/upstream.ts, RFC 3261 §18.2.2, RFC 3581): the UDP
// destination of a request's responses, shared per peer so that lingering server
// transactions do not each keep one (issue 10), and right for every peer past the bound.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseMessage } from "../../src/sip/index.ts";
import { upstreamDest } from "../../src/proxy/upstream.ts";

const viaOf = (via: string) => {
  const text = `OPTIONS sip:x@example.com SIP/2.0\r\nVia: ${via}\r\nMax-Forwards: 70\r\n` +
    "From: <sip:a@example.com>;tag=1\r\nTo: <sip:x@example.com>\r\nCall-ID: c1\r\n" +
    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  return parseMessage(new TextEncoder().encode(text)).topVia!;
};

describe("upstreamDest", () => {
  const rport = viaOf("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1;rport");
  const noRport = viaOf("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK2");

  it("UDP: the source port with rport (RFC 3581), else the Via's port", () => {
    const src = { transport: "udp" as const, host: "198.51.100.7", port: 40000 };
    assert.deepEqual(upstreamDest(rport, src), { transport: "udp", host: src.host, port: 40000 });
    assert.deepEqual(upstreamDest(noRport, src), { transport: "udp", host: src.host, port: 5070 });
  });

  it("UDP: one destination object per peer, whatever the number of requests", () => {
    const src = { transport: "udp" as const, host: "198.51.100.8", port: 40001 };
    assert.equal(upstreamDest(rport, src), upstreamDest(rport, { ...src }));
  });

  it("past the cache's bound, every peer still gets its own right destination", () => {
    for (let i = 0; i < 10_000; i++) {
      const src = { transport: "udp" as const, host: `10.0.${i >> 8}.${i & 255}`, port: 1024 + i };
      const d = upstreamDest(rport, src);
      assert.equal(d.host, src.host);
      assert.equal(d.port, src.port);
    }
  });

  it("a stream's responses go back on its connection", () => {
    const conn = {};
    const d = upstreamDest(rport, { transport: "tcp", host: "198.51.100.9", port: 50000, conn });
    assert.deepEqual(d, { transport: "tcp", host: "198.51.100.9", port: 50000, conn });
  });
});
