// A member named by DNS name whose SRV record gives another port than its URI's: it is
// known at the address and the port its name resolved to (RFC 3263), and only there.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import { config, member, T0 } from "./harness.ts";

const udp = (host: string, port: number) => ({ transport: "udp", host, port });

describe("PairRegistry: a member's learnt port", () => {
  it("identifies the member at the learnt address and port, and no longer at the old one", () => {
    const named = new PairRegistry(
      config({}, [{ name: "dns", primary: member("pbx-a.test"), backup: member("pbx-b.test") }]),
      { now: T0 },
    );
    named.learnAddress("pbx-a.test", "10.3.0.1", 5071);
    assert.equal(named.identify(udp("10.3.0.1", 5071))?.member?.role, "primary");
    assert.equal(named.identify(udp("10.3.0.1", 5060)), null);
    // The member's own name and port still name it, for routing and failure reports.
    assert.equal(named.memberAt("pbx-a.test", 5060)?.role, "primary");
    named.learnAddress("pbx-a.test", "10.3.0.1", 5072); // the next SRV target
    assert.equal(named.identify(udp("10.3.0.1", 5071)), null);
    assert.equal(named.identify(udp("10.3.0.1", 5072))?.member?.role, "primary");
    named.learnAddress("pbx-a.test", "10.3.0.1"); // back to the URI's port
    assert.equal(named.identify(udp("10.3.0.1", 5060))?.member?.role, "primary");
  });
});
