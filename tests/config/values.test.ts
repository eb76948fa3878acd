import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  formatDuration,
  parseDuration,
  parseListenUri,
  parseMemberUri,
  parseStatusRanges,
  statusMatcher,
} from "../../src/config/index.ts";
import { closest } from "../../src/config/suggest.ts";

describe("durations", () => {
  it("parses ms, s, fractional s and m into milliseconds", () => {
    assert.deepEqual(parseDuration("500ms"), { ok: true, value: 500 });
    assert.deepEqual(parseDuration("1s"), { ok: true, value: 1000 });
    assert.deepEqual(parseDuration("1.5s"), { ok: true, value: 1500 });
    assert.deepEqual(parseDuration("2m"), { ok: true, value: 120000 });
  });

  it("rejects a bare number with the unit hint, and unknown units", () => {
    const bare = parseDuration(500);
    assert.ok(!bare.ok && bare.error.includes("durations need a unit, e.g. 500ms or 1s"));
    assert.equal(parseDuration("5 minutes").ok, false);
    assert.equal(parseDuration("-1s").ok, false);
    assert.equal(parseDuration("0.1ms").ok, false);
  });

  it("formats back to the shortest exact unit", () => {
    assert.equal(formatDuration(500), "500ms");
    assert.equal(formatDuration(1500), "1.5s");
    assert.equal(formatDuration(120000), "2m");
    assert.equal(formatDuration(1234), "1234ms");
  });
});

describe("member URIs", () => {
  it("defaults port 5060 and transport udp", () => {
    assert.deepEqual(parseMemberUri("sip:10.0.0.11"), {
      ok: true,
      value: {
        uri: "sip:10.0.0.11",
        scheme: "sip",
        host: "10.0.0.11",
        port: 5060,
        transport: "udp",
        portGiven: false,
        transportGiven: false,
      },
    });
  });

  it("reads transport=tcp case-insensitively, and host names", () => {
    const result = parseMemberUri("SIP:sip1.example.com:5080;Transport=TCP");
    assert.ok(result.ok);
    assert.equal(result.value.host, "sip1.example.com");
    assert.equal(result.value.port, 5080);
    assert.equal(result.value.transport, "tcp");
  });

  it("takes IPv6 in brackets and returns the host without them", () => {
    const result = parseMemberUri("sip:[2001:db8::11]:5062");
    assert.ok(result.ok);
    assert.equal(result.value.host, "2001:db8::11");
    assert.equal(result.value.port, 5062);
  });

  it("takes TLS members: sips: or transport=tls, port 5061 by default", () => {
    for (const uri of ["sips:10.0.0.11", "sip:10.0.0.11;transport=tls"]) {
      const result = parseMemberUri(uri);
      assert.ok(result.ok, uri);
      assert.equal(result.value.transport, "tls", uri);
      assert.equal(result.value.port, 5061, uri);
    }
    assert.equal(parseMemberUri("sips:10.0.0.11;transport=tcp").ok, false);
  });

  it("rejects users, unknown params and bad hosts", () => {
    for (
      const uri of [
        "sip:alice@10.0.0.11",
        "sip:10.0.0.11;transprt=tcp",
        "sip:10.0.0.11;transport=sctp",
        "sip:10.0.0.256",
        "sip:10.0.0",
        "sip:2001:db8::1",
        "10.0.0.11:5060",
        "sip:10.0.0.11:0",
      ]
    ) {
      assert.equal(parseMemberUri(uri).ok, false, uri);
    }
  });
});

describe("listen URIs", () => {
  it("parses udp and tcp, IPv6 in brackets, default port 5060", () => {
    assert.deepEqual(parseListenUri("tcp://[::1]:5070"), {
      ok: true,
      value: { uri: "tcp://[::1]:5070", transport: "tcp", host: "::1", port: 5070 },
    });
    assert.deepEqual(parseListenUri("UDP://0.0.0.0"), {
      ok: true,
      value: { uri: "udp://0.0.0.0:5060", transport: "udp", host: "0.0.0.0", port: 5060 },
    });
  });

  it("parses tls, port 5061 by default", () => {
    assert.deepEqual(parseListenUri("tls://0.0.0.0"), {
      ok: true,
      value: { uri: "tls://0.0.0.0:5061", transport: "tls", host: "0.0.0.0", port: 5061 },
    });
  });

  it("rejects other schemes, paths and ports out of range", () => {
    for (const uri of ["ws://0.0.0.0:80", "udp://0.0.0.0:5060/x", "udp://0.0.0.0:65536", "udp:0"]) {
      assert.equal(parseListenUri(uri).ok, false, uri);
    }
  });
});

describe("up_codes", () => {
  it("the default accepts any response except 408 and 5xx", () => {
    const up = statusMatcher("100-407,409-499,600-699");
    assert.deepEqual([100, 200, 404, 407, 409, 486, 603].map(up), Array(7).fill(true));
    assert.deepEqual([408, 500, 503, 599].map(up), [false, false, false, false]);
  });

  it("accepts classes like 2xx and spaces after commas", () => {
    const up = statusMatcher("2xx, 404");
    assert.equal(up(202), true);
    assert.equal(up(404), true);
    assert.equal(up(403), false);
  });

  it("rejects backwards ranges, codes outside 100-699 and junk", () => {
    for (const spec of ["500-400", "99", "700", "2xx;404", "", "ok"]) {
      assert.equal(parseStatusRanges(spec).ok, false, spec);
    }
  });
});

describe("did-you-mean", () => {
  it("suggests the close key, ignoring case, and nothing for far ones", () => {
    const keys = ["listen", "advertise", "serve", "probe", "pairs", "log"];
    assert.equal(closest("probes", keys), "probe");
    assert.equal(closest("advertize", keys), "advertise");
    assert.equal(closest("Pairs", keys), "pairs");
    assert.equal(closest("weight", keys), undefined);
  });

  it("suggests nothing when several candidates are equally close", () => {
    assert.equal(closest("site-c", ["site-a", "site-b"]), undefined);
    assert.equal(closest("site-aa", ["site-a", "site-b"]), "site-a");
  });
});
