// The DNS wire format: a query round-trips through the decoder's header, and malformed
// answers (cut short, pointer loops, lengths past the end, random bytes) are errors,
// never a hang or a crash.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeAnswer, encodeQuery } from "../../src/dns/wire.ts";

/** A response to `encodeQuery(id, name, type)` carrying the given resource records. */
function answerWith(query: Uint8Array, rrs: number[][], count = rrs.length): Uint8Array {
  const out = new Uint8Array([...query, ...rrs.flat()]);
  out[2] = 0x81; // QR, RD
  out[3] = 0x80; // RA
  out[7] = count; // ANCOUNT
  return out;
}

describe("DNS wire format", () => {
  it("reads A, AAAA and SRV records, following a compression pointer to the question", () => {
    const q = encodeQuery(0x1234, "_sip._udp.pbx.test", "SRV");
    const srv = [
      0xc0,
      12,
      0,
      33,
      0,
      1,
      0,
      0,
      0,
      60,
      0,
      18,
      0,
      10,
      0,
      5,
      0x13,
      0xc4,
      1,
      97,
      3,
      112,
      98,
      120,
      4,
      116,
      101,
      115,
      116,
      0,
    ]; // a.pbx.test
    const a = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 7];
    const aaaa = [
      0xc0,
      12,
      0,
      28,
      0,
      1,
      0,
      0,
      0,
      20,
      0,
      16,
      0x20,
      0x01,
      0x0d,
      0xb8,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
    ];
    const got = decodeAnswer(answerWith(q, [srv, a, aaaa]));
    assert.equal(got.id, 0x1234);
    assert.equal(got.rcode, 0);
    assert.deepEqual(got.records, [
      {
        type: "SRV",
        name: "_sip._udp.pbx.test",
        ttl: 60,
        priority: 10,
        weight: 5,
        port: 5060,
        target: "a.pbx.test",
      },
      { type: "A", name: "_sip._udp.pbx.test", ttl: 30, address: "192.0.2.7" },
      { type: "AAAA", name: "_sip._udp.pbx.test", ttl: 20, address: "2001:db8::1" },
    ]);
  });

  it("refuses a pointer loop, a record past the end and a count past the records", () => {
    const q = encodeQuery(1, "x.test", "A");
    const loop = answerWith(q, [[0xc0, q.length, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]]);
    // The record's name points at itself.
    assert.throws(() => decodeAnswer(loop), /pointer loop|too many labels/);
    const long = answerWith(q, [[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 40, 1, 2, 3, 4]]);
    assert.throws(() => decodeAnswer(long), /cut short/);
    assert.throws(() => decodeAnswer(answerWith(q, [], 3)), /cut short|past/);
    assert.throws(() => decodeAnswer(q), /not a DNS response/);
  });

  it("random bytes: an answer or an error, always at once", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 5000; i++) {
      const bytes = new Uint8Array(12 + (next() % 100)).map(() => next());
      bytes[2]! |= 0x80;
      try {
        const got = decodeAnswer(bytes);
        assert.ok(Array.isArray(got.records));
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }
  });
});
