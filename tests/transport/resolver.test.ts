import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  HostResolver,
  MAX_CACHED_NAMES,
  MAX_PENDING_LOOKUPS,
} from "../../src/transport/resolver.ts";

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

describe("host resolution is bounded against names from message content", () => {
  it("keeps at most MAX_CACHED_NAMES names, the oldest going first", async () => {
    const r = new HostResolver((h) => Promise.resolve(`192.0.2.${h.length % 250}`), () => 0);
    for (let i = 0; i < MAX_CACHED_NAMES + 50; i++) await r.resolve(`n${i}.example`);
    assert.equal(r.cached, MAX_CACHED_NAMES);
  });

  it("fails a lookup at once when MAX_PENDING_LOOKUPS are in flight, and takes new ones after", async () => {
    const waiting: Array<(a: string) => void> = [];
    let hold = true;
    const r = new HostResolver(
      () =>
        hold
          ? new Promise<string>((resolve) => waiting.push(resolve))
          : Promise.resolve("192.0.2.9"),
      () => 0,
    );
    const inFlight = [];
    for (let i = 0; i < MAX_PENDING_LOOKUPS; i++) inFlight.push(r.resolve(`slow${i}.example`));
    await assert.rejects(r.resolve("one-more.example") as Promise<string>, /too many lookups/);
    // The same name as one in flight joins it rather than counting again.
    assert.equal(r.resolve("slow0.example"), inFlight[0]);
    hold = false;
    for (const w of waiting) w("192.0.2.1");
    await Promise.all(inFlight);
    assert.equal(await r.resolve("one-more.example"), "192.0.2.9");
  });
});
