// dns.servers, and what a member URI says about how RFC 3263 locates it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { expectError, MINIMAL, parseErrors, parseOk, yaml } from "./helpers.ts";

describe("dns keys", () => {
  it("dns.servers: IP addresses, port 53 unless given; absent: the system's", () => {
    assert.equal(parseOk(yaml(...MINIMAL)).dns.servers, null);
    const config = parseOk(
      yaml(...MINIMAL, 'dns: { servers: ["127.0.0.1:5353", "[::1]", "[::1]:54"] }'),
    );
    assert.deepEqual(config.dns.servers, [
      { host: "127.0.0.1", port: 5353 },
      { host: "::1", port: 53 },
      { host: "::1", port: 54 },
    ]);
  });

  it("a server given by name, a bad port or an empty list: an error at the value", () => {
    const errors = parseErrors(yaml(
      ...MINIMAL,
      "dns:",
      '  servers: ["ns1.example.com", "127.0.0.1:99999"]',
    ));
    expectError(errors, 7, 13, /dns\.servers\[0\]: a DNS server is an IP address, not a name/);
    expectError(errors, 7, 32, /dns\.servers\[1\]: port must be 1-65535/);
    const empty = parseErrors(yaml(...MINIMAL, "dns: { servers: [] }"));
    assert.match(empty[0]!.message, /dns\.servers: list at least one server/);
  });

  it("a member URI records whether it names its port and transport (RFC 3263 §4)", () => {
    const config = parseOk(yaml(
      "advertise: proxy.example.com",
      "pairs:",
      "  - name: site-a",
      "    primary: sip:pbx-a.example.com",
      "    backup: sip:pbx-b.example.com:5080;transport=tcp",
    ));
    const { primary, backup } = config.pairs[0]!;
    assert.deepEqual([primary.portGiven, primary.transportGiven, primary.port], [
      false,
      false,
      5060,
    ]);
    assert.deepEqual([backup.portGiven, backup.transportGiven, backup.port], [true, true, 5080]);
  });
});

describe("tls keys", () => {
  it("defaults: no certificate, members verified, no client certificate", () => {
    assert.deepEqual(parseOk(yaml(...MINIMAL)).tls, {
      cert: null,
      key: null,
      ca: null,
      verify_members: true,
      client_cert: false,
    });
  });

  it("a tls:// listener with cert and key; client_cert needs them too", () => {
    const config = parseOk(yaml(
      "listen: [udp://0.0.0.0:5060, tls://0.0.0.0:5061]",
      "tls: { cert: /etc/vipless/cert.pem, key: /etc/vipless/key.pem, client_cert: true }",
      ...MINIMAL,
    ));
    assert.equal(config.listen[1]!.transport, "tls");
    assert.equal(config.tls.cert, "/etc/vipless/cert.pem");
    const errors = parseErrors(yaml("tls: { client_cert: true }", ...MINIMAL));
    assert.match(errors[0]!.message, /tls\.client_cert presents tls\.cert and tls\.key: set both/);
  });
});
