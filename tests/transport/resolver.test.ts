import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { HostResolver } from "../../src/transport/resolver.ts";

describe("host resolution for outbound messages", () => {
  it("passes IP literals through synchronously", () => {
    const r = new HostResolver(() => Promise.reject(new Error("must not be called")), () => 0);
    assert.equal(r.resolve("192.0.2.7"), "192.0.2.7");
    assert.equal(r.resolve("::1"), "::1");
  });
  it("looks a name up once, then answers from the cache until the TTL", async () => {
    let calls = 0;
    let now = 0;
    const r = new HostResolver((h) => {
      calls++;
      return Promise.resolve(h === "carrier.example" ? "198.51.100.5" : "x");
    }, () => now);
    const first = r.resolve("carrier.example");
    assert.equal(typeof first, "object");
    assert.equal(await first, "198.51.100.5");
    assert.equal(r.resolve("carrier.example"), "198.51.100.5");
    assert.equal(calls, 1);
    now = 61_000;
    assert.equal(await r.resolve("carrier.example"), "198.51.100.5");
    assert.equal(calls, 2);
  });
  it("reports an unresolvable name and does not ask again for a few seconds", async () => {
    let calls = 0;
    const r = new HostResolver(() => {
      calls++;
      return Promise.reject(new Error("ENOTFOUND"));
    }, () => 0);
    await assert.rejects(
      Promise.resolve(r.resolve("nope.invalid")),
      /cannot resolve nope\.invalid/,
    );
    await assert.rejects(Promise.resolve(r.resolve("nope.invalid")), /cannot resolve/);
    assert.equal(calls, 1);
  });
});
