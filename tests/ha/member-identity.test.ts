// The registry's side of member identity (sans-I/O): a request switches a pair only when
// the transport names one member, and a probe answer counts only from the probed
// member's address; others are dropped and counted.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import type { DueProbe } from "../../src/ha/registry-types.ts";
import { config, member, T0 } from "./harness.ts";

const SHARED = {
  name: "shared",
  primary: member("10.0.0.1", 5060, "tcp"),
  backup: member("10.0.0.1", 5070, "tcp"),
};
const APART = { name: "apart", primary: member("10.1.0.11"), backup: member("10.1.0.12") };

function registry(): PairRegistry {
  return new PairRegistry(config({}, [SHARED, APART]), { now: T0 });
}

/** Runs the prober from `from` until it probes `uri`; the probe and when it went out. */
function probeOf(ha: PairRegistry, uri: string, from = T0): { p: DueProbe; at: number } {
  for (let now = from; now < from + 5_000; now += 10) {
    const p = ha.probesDue(now).probes.find((x) => x.member.uri === uri);
    if (p) return { p, at: now };
  }
  throw new Error(`${uri} was not probed`);
}

const status = (ha: PairRegistry, pair: string, role: string) =>
  ha.snapshot(T0 + 10_000).pairs.find((p) => p.name === pair)!.members.find((m) => m.role === role)!
    .status;

describe("PairRegistry: who may switch a pair", () => {
  it("a stream from the IP two members share switches nothing; one vipless opened to the backup does", () => {
    const ha = registry();
    const now = T0 + 100;
    const inbound = { transport: "tcp", host: "10.0.0.1", port: 5070, outbound: false };
    assert.equal(ha.onRequestFrom(inbound, "INVITE", now), null);
    assert.equal(ha.pairState("shared"), "active-primary");
    const origin = ha.onRequestFrom({ ...inbound, outbound: true }, "INVITE", now);
    assert.equal(origin?.role, "backup");
    assert.equal(origin?.switched, true);
    assert.equal(ha.pairState("shared"), "active-backup");
  });
});

describe("PairRegistry: probe answers only from the probed member", () => {
  it("over UDP only from the member's address: another port or host is dropped and counted", () => {
    const ha = registry();
    const { p, at } = probeOf(ha, APART.primary.uri);
    assert.deepEqual(ha.probeAnswer(p.branch, 200, { ...p.dest, port: 5999 }, at), []);
    assert.deepEqual(ha.probeAnswer(p.branch, 200, { ...p.dest, host: "10.1.0.12" }, at), []);
    assert.equal(status(ha, "apart", "primary"), "unknown");
    assert.deepEqual(ha.rejectedProbeAnswers().filter((r) => r.count > 0), [
      { pair: "apart", role: "primary", member: APART.primary.uri, count: 2 },
    ]);
    ha.probeAnswer(p.branch, 200, { transport: "udp", host: "10.1.0.11", port: 5060 }, at);
    assert.equal(status(ha, "apart", "primary"), "up");
  });

  it("over TCP from the member's host, or on the connection vipless opened to it, and not another's", () => {
    const ha = registry();
    const { p: primary, at } = probeOf(ha, SHARED.primary.uri);
    // On the connection vipless opened to the backup: not the primary's answer.
    const onBackupConn = { transport: "tcp", host: "10.0.0.1", port: 5070, outbound: true };
    assert.deepEqual(ha.probeAnswer(primary.branch, 200, onBackupConn, at), []);
    assert.deepEqual(
      ha.probeAnswer(primary.branch, 200, { transport: "tcp", host: "10.9.9.9", port: 5060 }, at),
      [],
    );
    assert.equal(status(ha, "shared", "primary"), "unknown");
    // The member answering on a connection of its own (RFC 3261 §18.2.2): its host.
    ha.probeAnswer(primary.branch, 200, { transport: "tcp", host: "10.0.0.1", port: 40_000 }, at);
    assert.equal(status(ha, "shared", "primary"), "up");
    const { p: backup, at: later } = probeOf(ha, SHARED.backup.uri, at);
    ha.probeAnswer(backup.branch, 200, onBackupConn, later);
    assert.equal(status(ha, "shared", "backup"), "up");
    const rejected = ha.rejectedProbeAnswers().find((r) => r.member === SHARED.primary.uri);
    assert.equal(rejected?.count, 2);
  });

  it("the counts survive a reload, as Prometheus counters must, under the pair's new name", () => {
    const ha = registry();
    const { p, at } = probeOf(ha, APART.backup.uri);
    ha.probeAnswer(p.branch, 200, { ...p.dest, port: 1 }, at);
    ha.reconfigure(config({}, [{ ...APART, name: "renamed" }]), at + 1);
    assert.deepEqual(ha.rejectedProbeAnswers(), [
      { pair: "renamed", role: "primary", member: APART.primary.uri, count: 0 },
      { pair: "renamed", role: "backup", member: APART.backup.uri, count: 1 },
    ]);
  });
});
