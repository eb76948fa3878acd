/**
 * 10,000 mutated messages (scripts/fuzz) over UDP and TCP into the built dist/vipless
 * while a test UA places calls through it, the pair members mutating a fifth of their
 * answers to the fuzzer: no crash, no failed call, and once the RFC timers have run
 * out no transaction, TCP connection or descriptor left over.
 *
 * vipless runs with sip.t1 50ms (the config allows down to 10ms) so that the
 * T1-scaled timers (B, F, H, J, M: 64×T1 = 3.2 s) end within the test; T4 (5 s) and
 * Timer D (32 s) are not configurable, so the wait for the baseline is bounded at 45 s
 * and ends as soon as the counts are back. overload.max_delay is 0ms (no load
 * shedding; see below). The seed is fixed, so a failure replays with
 *   bun scripts/fuzz/run.ts --seed 4475 --count 10000 --rate 2500 --t1 50ms \
 *     --max-delay 0ms --load test-ua --calls-per-second 5
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { BUN, ROOT, run, tempDir } from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";
import { runSession, type SessionReport } from "../../scripts/fuzz/session.ts";
import { testUaCaller } from "../../scripts/fuzz/load-ua.ts";
import { reportLines } from "../../scripts/fuzz/report.ts";

const COUNT = 10_000;
const SEED = 4475;
const RFC4475 = join(ROOT, "..", "shared", "testdata", "rfc4475");

describe(`fuzzing dist/vipless with ${COUNT} mutated messages (test run under ${RUNTIME})`, () => {
  let report: SessionReport;
  let text = "";
  before(async () => {
    const built = await run(BUN, ["build.ts"]);
    assert.equal(built.code, 0, built.out);
    report = await runSession({
      count: COUNT,
      seed: SEED,
      rate: 2500,
      tcpShare: 0.3,
      command: [join(ROOT, "dist/vipless"), []],
      caller: await testUaCaller(),
      callsPerSecond: 5,
      t1: "50ms",
      // Load shedding off: 2,500 junk messages a second on a busy 2-core machine can
      // saturate vipless, which then refuses new INVITEs by design (overload.max_delay,
      // tested on its own); this test is about what hostile content leaves behind.
      maxDelay: "0ms",
      settleBoundMs: 45_000,
      rssSlackKiB: 256 * 1024,
      rfc4475Dir: RFC4475,
      mutateAnswers: { seed: SEED, share: 0.2, rfc4475Dir: RFC4475 },
      dir: tempDir(),
      log: () => {},
    });
    text = reportLines(report).join("\n");
  }, { timeout: 120_000 });

  it("sends every message and vipless does not crash", () => {
    assert.equal(report.crash, null, text);
    assert.equal(report.sent.stoppedEarly, null, text);
    assert.equal(report.sent.sent, COUNT, text);
    assert.ok(report.sent.tcp > 0 && report.sent.udp > 0, text);
  });

  it("every background call placed meanwhile succeeds", () => {
    assert.ok(report.calls.placed >= 10, text);
    assert.equal(report.calls.failed, 0, text);
    assert.equal(report.calls.successful, report.calls.placed, text);
  });

  it("transactions, TCP connections and descriptors return to the baseline", () => {
    const a = report.after;
    assert.ok(a, `/metrics did not answer after the run\n${text}`);
    // The run must have created state for the return to mean anything.
    assert.ok(report.peakTransactions > report.before.transactions, text);
    assert.ok(a.transactions <= report.before.transactions, text);
    assert.ok(a.tcpConnections <= report.before.tcpConnections, text);
    assert.ok(a.fds <= report.before.fds, text);
  });
});
