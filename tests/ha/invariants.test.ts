// Property test: whatever mix of probe outcomes, requests, forward failures and
// operator actions arrives, the pair state stays coherent.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import type { DueProbe } from "../../src/ha/registry-types.ts";
import type { HaEvent } from "../../src/ha/types.ts";
import { config, seededRandom, SITE_A, T0 } from "./harness.ts";

type Op =
  | { kind: "advance"; ms: number }
  | { kind: "answer"; status: number }
  | { kind: "error" }
  | { kind: "request"; backup: boolean; method: string }
  | { kind: "forward-failure"; backup: boolean }
  | { kind: "manual"; force: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 1500 }) }),
  fc.record({
    kind: fc.constant("answer" as const),
    status: fc.constantFrom(200, 404, 408, 503),
  }),
  fc.record({ kind: fc.constant("error" as const) }),
  fc.record({
    kind: fc.constant("request" as const),
    backup: fc.boolean(),
    method: fc.constantFrom("INVITE", "OPTIONS", "BYE"),
  }),
  fc.record({ kind: fc.constant("forward-failure" as const), backup: fc.boolean() }),
  fc.record({ kind: fc.constant("manual" as const), force: fc.boolean() }),
);

describe("HA invariants", () => {
  it("the active member is never down, out of service means no member is up, counts match events", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), fc.integer(), (ops, seed) => {
        const events: HaEvent[] = [];
        const random = seededRandom(seed);
        const ha = new PairRegistry(config(), { now: T0, random, onEvent: (e) => events.push(e) });
        let now = T0;
        const inFlight: DueProbe[] = [];
        for (const o of ops) {
          if (o.kind === "advance") now += o.ms;
          if (o.kind === "answer" || o.kind === "error") {
            const p = inFlight.shift();
            if (p !== undefined && o.kind === "answer") {
              ha.probeAnswer(p.branch, o.status, p.dest, now);
            }
            if (p !== undefined && o.kind === "error") ha.probeTransportError(p.dest, now);
          }
          const m = o.kind === "request" || o.kind === "forward-failure"
            ? (o.backup ? SITE_A.backup : SITE_A.primary)
            : null;
          if (o.kind === "request") {
            ha.onRequestFrom({ transport: "udp", host: m!.host, port: m!.port }, o.method, now);
          }
          if (o.kind === "forward-failure") ha.onForwardFailure(m!, now);
          if (o.kind === "manual") ha.switchover("site-a", { force: o.force }, now);
          inFlight.push(...ha.probesDue(now).probes);
          assert.ok(ha.nextProbeDeadline() > now, "after due(now) nothing is left for now");

          const pair = ha.snapshot(now).pairs[0];
          const active = pair.members.find((x) => x.active);
          if (pair.state === "out-of-service") {
            assert.equal(active, undefined);
            assert.ok(pair.members.every((x) => x.status !== "up"), "no up member left idle");
            assert.deepEqual(ha.nextHops("site-a"), []);
          } else {
            assert.notEqual(active?.status, "down", "active member is never known down");
            assert.equal(ha.nextHops("site-a")[0].uri, active!.uri);
            assert.ok(
              ha.nextHops("site-a").every((h) =>
                pair.members.find((x) => x.uri === h.uri)!.status !== "down"
              ),
            );
          }
          const changes = events.filter((e) =>
            e.type === "switchover" || e.type === "pair-out-of-service"
          );
          assert.equal(pair.switchoverCount, changes.length);
          assert.ok(pair.switchovers.length <= 20);
        }
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});
