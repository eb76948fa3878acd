import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addressKey, memberKey, normaliseHost } from "../../src/ha/address.ts";
import { member } from "./harness.ts";

describe("host normalisation", () => {
  it("compares host names case-insensitively and ignores a trailing dot", () => {
    assert.equal(normaliseHost("SIP1.Example.COM."), "sip1.example.com");
  });

  it("strips IPv6 brackets and writes IPv6 in one canonical form", () => {
    assert.equal(normaliseHost("[::1]"), "::1");
    assert.equal(normaliseHost("2001:0DB8:0:0:0:0:0:1"), "2001:db8::1");
    assert.equal(normaliseHost("[2001:db8:0:0:1:0:0:1]"), "2001:db8::1:0:0:1");
    assert.equal(normaliseHost("fe80::1%eth0"), "fe80::1%eth0");
  });

  it("turns IPv4-mapped IPv6 source addresses into plain IPv4", () => {
    assert.equal(normaliseHost("::ffff:10.0.0.11"), "10.0.0.11");
    assert.equal(normaliseHost("::FFFF:a00:b"), "10.0.0.11");
  });

  it("leaves text that is not an address alone (apart from case)", () => {
    assert.equal(normaliseHost("not:an:address::x"), "not:an:address::x");
  });

  it("defaults the port to 5060 in address keys", () => {
    assert.equal(addressKey("10.0.0.11", undefined), addressKey("10.0.0.11", 5060));
    assert.notEqual(addressKey("10.0.0.11", 5070), addressKey("10.0.0.11", 5060));
  });

  it("identifies a member by scheme, address and transport", () => {
    assert.equal(memberKey(member("10.0.0.11")), memberKey({ ...member("10.0.0.11"), uri: "x" }));
    assert.notEqual(memberKey(member("10.0.0.11")), memberKey(member("10.0.0.11", 5060, "tcp")));
  });
});
