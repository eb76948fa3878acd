import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import { type HaPairSpec, SWITCH_REASONS } from "../../src/ha/types.ts";
import { answers, config, gaps, member, Sim, SITE_A, SITE_B } from "./harness.ts";

/** A sim where site-a has switched to its backup and site-b runs normally. */
function switched(): Sim {
  const sim = new Sim(config({}, [SITE_A, SITE_B]));
  sim.runFor(1500);
  sim.ha.switchover("site-a", {}, sim.now);
  sim.runFor(1000);
  return sim;
}

describe("reconfigure", () => {
  it("keeps the active member, health and history of pairs whose members are unchanged", () => {
    const sim = switched();
    const before = sim.ha.snapshot(sim.now).pairs[0];
    sim.ha.reconfigure(config({}, [SITE_A, SITE_B]), sim.now);
    const after = sim.ha.snapshot(sim.now).pairs[0];
    assert.deepEqual(after, before);
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
  });

  it("keeps the state of a pair that was only renamed or respelled", () => {
    const sim = switched();
    const respelled: HaPairSpec = {
      name: "site-a-renamed",
      primary: { ...SITE_A.primary, uri: "sip:10.0.0.11:5060;transport=udp" },
      backup: SITE_A.backup,
    };
    sim.ha.reconfigure(config({}, [respelled, SITE_B]), sim.now);
    assert.equal(sim.ha.pairState("site-a"), null);
    assert.equal(sim.ha.pairState("site-a-renamed"), "active-backup");
    assert.equal(sim.ha.memberAt("10.0.0.11", 5060)?.pair, "site-a-renamed");
    const snap = sim.ha.snapshot(sim.now).pairs[0];
    assert.equal(snap.members[0].uri, "sip:10.0.0.11:5060;transport=udp");
    assert.equal(snap.switchoverCount, 1);
    sim.runFor(3000);
    assert.ok(sim.sent.some((s) => s.pair === "site-a-renamed"), "probes carry the new name");
  });

  it("starts afresh a pair whose members changed, and drops removed pairs", () => {
    const sim = switched();
    const changed: HaPairSpec = { ...SITE_A, backup: member("10.0.0.13") };
    sim.ha.reconfigure(config({}, [changed]), sim.now);
    assert.equal(sim.ha.pairState("site-a"), "active-primary");
    assert.equal(sim.ha.snapshot(sim.now).pairs[0].switchoverCount, 0);
    assert.equal(sim.ha.snapshot(sim.now).pairs[0].members[0].status, "unknown");
    assert.equal(sim.ha.pairState("site-b"), null);
    assert.equal(sim.ha.memberAt("10.0.0.12", 5060), null);
    assert.equal(sim.ha.memberAt("10.1.0.11", 5060), null);

    sim.set(changed.backup.uri, answers());
    const from = sim.now;
    sim.runFor(3000);
    assert.deepEqual(
      [...new Set(sim.sent.filter((s) => s.at > from).map((s) => s.uri))].sort(),
      [
        SITE_A.primary.uri,
        changed.backup.uri,
      ].sort(),
      "probes only the configured members",
    );
  });

  it("applies new probe timing to kept members", () => {
    const sim = switched();
    sim.ha.reconfigure(config({ interval: 3000 }, [SITE_A, SITE_B]), sim.now);
    const from = sim.now + 2000;
    sim.runFor(20_000);
    for (const g of gaps(sim.sentTo(SITE_A.primary.uri, from))) {
      assert.ok(g >= 2700 && g <= 3300, `gap ${g}`);
    }
  });

  it("keeps switchover counters monotonic across reloads, under a renamed pair's new name", () => {
    const sim = switched();
    sim.ha.reconfigure(config({}, [{ ...SITE_A, name: "renamed" }]), sim.now);
    const counts = sim.ha.switchoverCounts();
    assert.deepEqual(counts.filter((c) => c.count > 0), [
      { pair: "renamed", reason: "manual", count: 1 },
    ]);
    assert.equal(
      counts.filter((c) => c.pair === "site-a").length,
      0,
      "no series under the old name",
    );
    sim.ha.reconfigure(config({}, [SITE_B]), sim.now);
    assert.deepEqual(new Set(sim.ha.switchoverCounts().map((c) => c.pair)), new Set(["site-b"]));
  });

  it("reports every pair and reason from the start, at 0", () => {
    const ha = new PairRegistry(config({}, [SITE_A, SITE_B]), { now: 0 });
    const counts = ha.switchoverCounts();
    assert.equal(counts.length, 2 * SWITCH_REASONS.length);
    assert.ok(counts.every((c) => c.count === 0));
  });

  it("rejects bad probe settings and changes nothing", () => {
    const sim = switched();
    assert.throws(() => sim.ha.reconfigure(config({ up_codes: [] }, [SITE_B]), sim.now));
    assert.equal(sim.ha.pairState("site-a"), "active-backup");
    assert.deepEqual(sim.ha.pairNames(), ["site-a", "site-b"]);
  });
});
