// Load shedding is counted by reason and logged once, then at most every 10 s with
// the count of refusals since the last line (issue 10: "log one overload event").
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { Registry } from "../../src/metrics/registry.ts";
import { OverloadReport } from "../../src/service/overload-report.ts";
import { answer, followUp, Harness, PRIMARY, request } from "../proxy/harness.ts";

function recorder() {
  const lines: Array<Record<string, unknown>> = [];
  const log = { warning: (_m: string, f: Record<string, unknown>) => lines.push(f) };
  return { lines, log: log as unknown as Logger };
}

describe("overload report", () => {
  test("a flood of refusals is every one counted and one log line per 10 s", () => {
    const { lines, log } = recorder();
    const counter = new Registry().counter("vipless_overload_rejections_total", "x");
    const report = new OverloadReport(log, counter);
    for (let t = 0; t < 25_000; t += 10) report.record("transactions", t);
    assert.equal(counter.get({ reason: "transactions" }), 2500);
    assert.deepEqual(lines.map((l) => [l.event, l.reason, l.refused]), [
      ["overload", "transactions", 1],
      ["overload", "transactions", 1000],
      ["overload", "transactions", 1000],
    ]);
    report.record("invite-rate", 25_000);
    assert.equal(lines.at(-1)!.reason, "invite-rate", "each reason has its own line");
  });

  test("a saturated line says which of vipless's delays was high, read only when it is written", () => {
    const { lines, log } = recorder();
    const counter = new Registry().counter("vipless_overload_rejections_total", "x");
    let reads = 0;
    const report = new OverloadReport(log, counter, {
      saturated: () => (reads++, { loop_lag_ms: 180, queue_delay_ms: 3 }),
    });
    for (let t = 0; t < 15_000; t += 10) report.record("saturated", t);
    report.record("transactions", 15_000);
    assert.equal(reads, 2, "two lines in 15 s, not 1,500 reads");
    assert.deepEqual(lines.map((l) => [l.reason, l.loop_lag_ms, l.queue_delay_ms]), [
      ["saturated", 180, 3],
      ["saturated", 180, 3],
      ["transactions", undefined, undefined],
    ]);
  });

  test("the proxy reports each bound when it sheds a request", () => {
    const h = new Harness({ settings: { maxTransactions: 3 } });
    h.allUp();
    h.receive(request("INVITE"));
    const refused = h.receive(request("INVITE"));
    assert.deepEqual(refused.map((s) => s.msg.status), [503]);
    assert.deepEqual(h.overloads, ["transactions"]);
    const limited = new Harness({ settings: { maxInviteRate: 1 } });
    limited.allUp();
    limited.receive(request("INVITE"));
    limited.receive(request("INVITE"));
    assert.deepEqual(limited.overloads.slice(0, 1), ["invite-rate"]);
  });

  test("saturated, new INVITEs get 503 at once and accepted calls go on", () => {
    const h = new Harness();
    h.allUp();
    const invite = request("INVITE");
    const fwd = h.receive(invite).find((s) => s.msg.isRequest && s.msg.method === "INVITE")!;
    // Ringing, so that the seconds of saturation below do not move it to the backup.
    h.receive(answer(fwd.msg, 180, { toTag: "uas" }), PRIMARY);
    h.saturate();
    const refused = h.receive(request("INVITE"));
    assert.deepEqual(refused.map((s) => s.msg.status), [503], "no 100 Trying, no forward");
    // RFC 7339 §5.10.2: a share shed, so without Retry-After (not "come back later").
    assert.equal(refused[0]!.msg.header("Retry-After"), null);
    assert.deepEqual(h.overloads, ["saturated"]);
    assert.equal(h.core.txl.size, 2, "no transaction for the refused INVITE");
    // The call already accepted completes: its 200 goes up, its BYE goes down.
    const ok = h.receive(answer(fwd.msg, 200, { toTag: "uas" }), PRIMARY);
    assert.deepEqual(ok.map((s) => s.msg.status), [200]);
    const bye = h.receive(request("BYE", { toTag: "uas" }));
    assert.equal(bye.filter((s) => s.msg.method === "BYE").length, 1);
    // A retransmission of the accepted INVITE is still absorbed, not refused.
    assert.deepEqual(h.receive(invite).map((s) => s.msg.status), []);
  });

  test("the ACK of a stateless 503 ends at vipless; an ACK for a 2xx still goes through", () => {
    const h = new Harness();
    h.allUp();
    h.saturate();
    const invite = request("INVITE");
    const [refused] = h.receive(invite);
    assert.equal(refused!.msg.status, 503);
    const tag = refused!.msg.to!.tag!;
    assert.deepEqual(h.receive(followUp(invite, "ACK", tag)), [], "not forwarded to a member");
    const ack2xx = request("ACK", { toTag: "uas-1" });
    assert.equal(h.receive(ack2xx).filter((s) => s.msg.method === "ACK").length, 1);
  });
});
