import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isIP } from "node:net";
import fc from "fast-check";
import {
  addressKey,
  DEFAULT_SIP_PORT,
  DEFAULT_SIPS_PORT,
  formatHostPort,
  formatIpv6,
  hostForUri,
  isIpLiteral,
  isIpv4,
  isIpv6,
  normaliseHost,
  normaliseUriHost,
  parseIpv4,
  parseIpv6,
  stripBrackets,
} from "../../src/net/address.ts";

describe("IPv4 literals", () => {
  it("recognises dotted quads of decimal octets 0-255", () => {
    for (const ok of ["0.0.0.0", "10.0.0.1", "192.0.2.10", "255.255.255.255", "1.20.100.0"]) {
      assert.equal(isIpv4(ok), true, ok);
    }
    assert.equal(parseIpv4("10.0.0.1"), 0x0a000001);
    assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  });

  it("rejects every other form, including the ones inet_aton reads", () => {
    for (
      const bad of [
        "0x10.0.0.1",
        "010.0.0.1",
        "1.2.3",
        "256.1.1.1",
        "1.2.3.4.",
        "1.2.3.4.5",
        "1..2.3",
        "1.2.3.1000",
        "",
        " 1.2.3.4",
        "a.b.c.d",
        "::1",
      ]
    ) {
      assert.equal(isIpv4(bad), false, bad);
      assert.equal(parseIpv4(bad), null, bad);
    }
  });
});

describe("IPv6 literals", () => {
  it("parses the RFC 4291 forms into 8 groups", () => {
    assert.deepEqual(parseIpv6("2001:DB8:0:0:8:800:200C:417A"), [
      0x2001,
      0xdb8,
      0,
      0,
      8,
      0x800,
      0x200c,
      0x417a,
    ]);
    assert.deepEqual(parseIpv6("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(parseIpv6("::1"), [0, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(parseIpv6("1::"), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(parseIpv6("ff01::101"), [0xff01, 0, 0, 0, 0, 0, 0, 0x101]);
    assert.deepEqual(parseIpv6("::ffff:192.0.2.10"), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x20a]);
    assert.deepEqual(parseIpv6("1:2:3:4:5:6:10.0.0.1"), [1, 2, 3, 4, 5, 6, 0x0a00, 1]);
    assert.deepEqual(parseIpv6("1::2:3:4:5:6:7"), [1, 0, 2, 3, 4, 5, 6, 7]);
  });

  it("rejects malformed literals and non-standard embedded IPv4", () => {
    for (
      const bad of [
        "",
        ":",
        ":1",
        "1:",
        ":::",
        "1:::2",
        "1::2::3",
        "2001:db8:::192.0.2.1",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7::8",
        "12345::1",
        "g::1",
        "::ffff:010.0.0.1",
        "::ffff:0x10.0.0.1",
        "::ffff:1.2.3",
        "::1.2.3.4:5",
        "1:2:3:4:5:6:7:1.2.3.4",
        "[::1]",
        "fe80::1%eth0",
        "10.0.0.1",
      ]
    ) {
      assert.equal(parseIpv6(bad), null, bad);
      assert.equal(isIpv6(bad), false, bad);
    }
  });

  it("formats per RFC 5952: lower case, no leading zeros, the longest zero run as ::", () => {
    const f = (t: string) => formatIpv6(parseIpv6(t)!);
    assert.equal(f("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
    assert.equal(f("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); // a single 0 stays
    assert.equal(f("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"); // the first of equal runs
    assert.equal(f("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1"); // the longest run
    assert.equal(f("0:0:0:0:0:0:0:0"), "::");
  });
});

describe("IP literals as a socket takes them", () => {
  it("accepts IPv4, IPv6 and IPv6 with a zone; no brackets, no names", () => {
    for (const ok of ["192.0.2.7", "::1", "fe80::1%eth0", "::ffff:10.0.0.1"]) {
      assert.equal(isIpLiteral(ok), true, ok);
    }
    for (const bad of ["[::1]", "example.com", "fe80::1%", "010.0.0.1", "%eth0", ""]) {
      assert.equal(isIpLiteral(bad), false, bad);
    }
  });

  it("agrees with node:net isIP on strings of address characters", () => {
    const piece = fc.constantFrom(
      ...["0", "1", "00", "010", "255", "256", "ffff", "FFFF", "abcd", "12345", "g"],
      ...[":", "::", ".", "1.2.3.4", "10.0.0.1", "0x10"],
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 14 }), (pieces) => {
        const s = pieces.join("");
        assert.equal(isIpLiteral(s), isIP(s) !== 0, s);
      }),
      { numRuns: 3000 },
    );
    // Mostly well-formed IPv6: groups, separators, perhaps a "::" and a dotted quad.
    const group = fc.constantFrom("0", "1", "ffff", "ABCD", "00ab", "12345", "g1", "");
    const sep = fc.constantFrom(":", ":", ":", ":", "::");
    const tail = fc.constantFrom("", "", "", "10.0.0.1", "1.2.3", "010.0.0.1", "256.0.0.1");
    const v6ish = fc.tuple(fc.array(fc.tuple(group, sep), { maxLength: 9 }), group, tail)
      .map(([pairs, last, quad]) => pairs.map(([g, s]) => g + s).join("") + last + quad);
    fc.assert(
      fc.property(v6ish, (s) => {
        assert.equal(isIpLiteral(s), isIP(s) !== 0, s);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("host normalisation", () => {
  it("normaliseHost: lower case, no brackets, RFC 5952, IPv4-mapped as IPv4, no trailing dot", () => {
    assert.equal(normaliseHost("SIP1.Example.COM."), "sip1.example.com");
    assert.equal(normaliseHost("[2001:DB8:0:0:0:0:0:1]"), "2001:db8::1");
    assert.equal(normaliseHost("::ffff:10.0.0.1"), "10.0.0.1");
    assert.equal(normaliseHost("[::FFFF:a00:1]"), "10.0.0.1");
    assert.equal(normaliseHost("FE80:0::1%eth0"), "fe80::1%eth0");
    assert.equal(normaliseHost(" 10.0.0.1 "), "10.0.0.1");
    assert.equal(normaliseHost("[not:v6]"), "not:v6");
  });

  it("normaliseUriHost: IPv6 in brackets in RFC 5952 form, IPv4-mapped kept as IPv6", () => {
    assert.equal(normaliseUriHost("[2001:DB8:0:0:0:0:0:1]"), "[2001:db8::1]");
    assert.equal(normaliseUriHost("2001:db8::1"), "[2001:db8::1]");
    assert.equal(normaliseUriHost("[::ffff:192.0.2.10]"), "[::ffff:c000:20a]");
    assert.equal(normaliseUriHost("Example.COM."), "example.com");
    assert.equal(normaliseUriHost("10.0.0.1"), "10.0.0.1");
  });

  it("stripBrackets removes one pair of enclosing brackets only", () => {
    assert.equal(stripBrackets("[::1]"), "::1");
    assert.equal(stripBrackets("::1"), "::1");
    assert.equal(stripBrackets("[::1"), "[::1");
    assert.equal(stripBrackets("10.0.0.1"), "10.0.0.1");
  });
});

describe("host:port text and keys", () => {
  it("brackets IPv6 once, and leaves the port off when it is null", () => {
    assert.equal(hostForUri("::1"), "[::1]");
    assert.equal(hostForUri("[::1]"), "[::1]");
    assert.equal(hostForUri("example.com"), "example.com");
    assert.equal(formatHostPort("::1", 5060), "[::1]:5060");
    assert.equal(formatHostPort("[::1]", 5060), "[::1]:5060");
    assert.equal(formatHostPort("10.0.0.1", 5070), "10.0.0.1:5070");
    assert.equal(formatHostPort("2001:db8::1", null), "[2001:db8::1]");
  });

  it("addressKey: equal addresses and the default port give one key", () => {
    assert.equal(DEFAULT_SIP_PORT, 5060);
    assert.equal(DEFAULT_SIPS_PORT, 5061);
    assert.equal(addressKey("::ffff:10.0.0.1", null), addressKey("10.0.0.1", 5060));
    assert.equal(addressKey("[2001:DB8::1]", undefined), addressKey("2001:db8:0::1", 5060));
    assert.notEqual(addressKey("10.0.0.1", 5070), addressKey("10.0.0.1", 5060));
  });
});
