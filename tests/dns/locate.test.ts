// RFC 3263 location against a real DNS server (dnsmasq on loopback): NAPTR → SRV →
// A/AAAA, the numeric-host and explicit-port short cuts, SRV priority and weight, and
// the TTL of the records; plus a server that never answers.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsClient } from "../../src/dns/client.ts";
import { Locator } from "../../src/dns/locate.ts";
import { dnsmasqMissing, type DnsServer, startDnsmasq } from "../support/dnsmasq.ts";
import { runtime } from "../support/vipless-process.ts";

const missing = dnsmasqMissing();
if (missing) console.log(`tests/dns/locate: skipped: ${missing}`);

describe("RFC 3263 location against dnsmasq", { skip: missing ?? false }, () => {
  let dns: DnsServer;
  let client: DnsClient;
  const ALL = ["udp", "tcp", "tls"] as const;
  before(async () => {
    dns = await startDnsmasq({
      ttl: 42,
      hosts: {
        "a.pbx.test": ["127.0.0.11"],
        "b.pbx.test": ["127.0.0.12", "::1"],
        "c.pbx.test": ["127.0.0.13"],
        "plain.test": ["127.0.0.20"],
        "tls.test": ["127.0.0.30"],
      },
      srv: [
        ["_sip._tcp.pbx.test", "b.pbx.test", 5072, 20, 0],
        ["_sip._tcp.pbx.test", "a.pbx.test", 5071, 10, 0],
        ["_sip._udp.pbx.test", "c.pbx.test", 5073, 10, 0],
        ["_sip._udp.srvonly.test", "a.pbx.test", 5081, 10, 0],
        ["_sips._tcp.tls.test", "tls.test", 5091, 10, 0],
        ["_sip._udp.weighted.test", "a.pbx.test", 6001, 10, 90],
        ["_sip._udp.weighted.test", "c.pbx.test", 6002, 10, 10],
        // About 1000 bytes of answer: more than 512, so it needs EDNS(0).
        ...Array.from({ length: 15 }, (_, i) =>
          [
            "_sip._udp.many.test",
            `server-number-${i}.a-rather-long-domain-name.test`,
            7000 + i,
            10,
            1,
          ] as [string, string, number, number, number]),
        // About 2700 bytes: truncated at 1232 too, so it comes over TCP.
        ...Array.from({ length: 40 }, (_, i) =>
          [
            "_sip._udp.huge.test",
            `server-number-${i}.a-rather-long-domain-name.test`,
            8000 + i,
            10,
            1,
          ] as [string, string, number, number, number]),
      ],
      naptr: [
        ["pbx.test", 10, 50, "s", "SIP+D2T", "_sip._tcp.pbx.test"],
        ["pbx.test", 20, 50, "s", "SIP+D2U", "_sip._udp.pbx.test"],
      ],
    });
    client = new DnsClient(await runtime(), { servers: [{ host: dns.host, port: dns.port }] });
  });
  after(async () => {
    client?.close();
    await dns?.stop();
  });

  it("NAPTR picks the transport, SRV the hosts and ports by priority, A/AAAA the addresses", async () => {
    const got = await new Locator(client, ALL).locate({
      host: "pbx.test",
      port: null,
      transport: null,
      secure: false,
    });
    assert.deepEqual(got.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "tcp:127.0.0.11:5071",
      "tcp:127.0.0.12:5072",
      "tcp:::1:5072",
    ]);
    assert.equal(got.targets[0]!.name, "a.pbx.test");
    assert.ok(got.ttl > 0 && got.ttl <= 42, `ttl ${got.ttl}`);
  });

  it("a NAPTR service vipless cannot speak is passed over for the next", async () => {
    const got = await new Locator(client, ["udp"]).locate({
      host: "pbx.test",
      port: null,
      transport: null,
      secure: false,
    });
    assert.deepEqual(got.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "udp:127.0.0.13:5073",
    ]);
  });

  it("no NAPTR: SRV for the transports vipless speaks; a transport= parameter asks its own SRV", async () => {
    const l = new Locator(client, ALL);
    const srvOnly = await l.locate({
      host: "srvonly.test",
      port: null,
      transport: null,
      secure: false,
    });
    assert.deepEqual(srvOnly.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "udp:127.0.0.11:5081",
    ]);
    const tcp = await l.locate({ host: "pbx.test", port: null, transport: "udp", secure: false });
    assert.deepEqual(tcp.targets.map((t) => `${t.transport}:${t.port}`), ["udp:5073"]);
  });

  it("sips: only TLS: _sips._tcp", async () => {
    const got = await new Locator(client, ALL).locate({
      host: "tls.test",
      port: null,
      transport: null,
      secure: true,
    });
    assert.deepEqual(got.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "tls:127.0.0.30:5091",
    ]);
  });

  it("an explicit port or a numeric host: no NAPTR, no SRV", async () => {
    const l = new Locator(client, ALL);
    const explicit = await l.locate({
      host: "pbx.test",
      port: 5099,
      transport: null,
      secure: false,
    });
    // pbx.test has NAPTR and SRV but no address of its own: nothing, not the SRV targets.
    assert.deepEqual(explicit.targets, []);
    const named = await l.locate({
      host: "plain.test",
      port: 5099,
      transport: null,
      secure: false,
    });
    assert.deepEqual(named.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "udp:127.0.0.20:5099",
    ]);
    const numeric = await l.locate({
      host: "127.0.0.9",
      port: null,
      transport: null,
      secure: false,
    });
    assert.deepEqual(numeric.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "udp:127.0.0.9:5060",
    ]);
  });

  it("no NAPTR and no SRV: the host's addresses on the default port", async () => {
    const got = await new Locator(client, ALL).locate({
      host: "plain.test",
      port: null,
      transport: null,
      secure: false,
    });
    assert.deepEqual(got.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "udp:127.0.0.20:5060",
    ]);
    const none = await new Locator(client, ALL).locate({
      host: "nowhere.test",
      port: null,
      transport: null,
      secure: false,
    });
    assert.deepEqual(none.targets, []);
  });

  it("a host DNS does not know is asked of the system resolver (/etc/hosts)", async () => {
    const l = new Locator(client, ALL);
    l.systemLookup = (host) =>
      host === "hosts-only.test" ? Promise.resolve("127.0.0.77") : Promise.reject(new Error("no"));
    const got = await l.locate({
      host: "hosts-only.test",
      port: 5080,
      transport: null,
      secure: false,
    });
    assert.deepEqual(got.targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [
      "udp:127.0.0.77:5080",
    ]);
    assert.equal(got.ttl, 60);
    const none = await l.locate({
      host: "nowhere.test",
      port: 5080,
      transport: null,
      secure: false,
    });
    assert.deepEqual(none.targets, []);
  });

  it("an answer too large for 512 bytes arrives whole (EDNS(0))", async () => {
    const got = await client.query("_sip._udp.many.test", "SRV");
    assert.equal(got.records.filter((r) => r.type === "SRV").length, 15);
  });

  it("an answer too large for one datagram even with EDNS(0) is asked again over TCP", async () => {
    const got = await client.query("_sip._udp.huge.test", "SRV");
    assert.equal(got.records.filter((r) => r.type === "SRV").length, 40);
  });

  it("SRV weight: within a priority, the heavier record comes first in proportion", async () => {
    let seed = 1;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const l = new Locator(client, ["udp"], random);
    let first6001 = 0;
    for (let i = 0; i < 200; i++) {
      const got = await l.locate({
        host: "weighted.test",
        port: null,
        transport: null,
        secure: false,
      });
      assert.equal(got.targets.length, 2);
      if (got.targets[0]!.port === 6001) first6001++;
    }
    // Weights 90:10: about 180 of 200 (binomial, sd ~4); far from an even split.
    assert.ok(first6001 > 150 && first6001 < 200, `6001 first ${first6001}/200`);
  });
});

describe("a DNS server that never answers", () => {
  it("fails the lookup after a bounded time, without blocking other work", async () => {
    const rt = await runtime();
    const silent = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
    const silentPort = silent.local.port;
    const client = new DnsClient(rt, {
      servers: [{ host: "127.0.0.1", port: silentPort }],
      attemptTimeoutMs: 150,
    });
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      await assert.rejects(client.query("x.test", "A"), /did not answer/);
      assert.ok(ticks > 10, `the event loop ran meanwhile (${ticks} ticks)`);
    } finally {
      clearInterval(ticker);
      client.close();
      silent.close();
    }
  });
});
