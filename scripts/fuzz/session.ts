/**
 * One fuzz session against a running vipless: members and background calls up,
 * vipless started from the built artifact, a baseline taken, the mutated messages
 * sent while calls run, then a wait (bounded) for the RFC timers to run out and a
 * look at whether transactions, TCP connections and descriptors are back.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectRuntime } from "../../src/runtime/index.ts";
import { loadCorpus } from "./corpus.ts";
import type { Caller, CallOutcome } from "./load.ts";
import type { MemberStats } from "./member.ts";
import { baseline, sleep, startTarget, type TargetOptions } from "./target.ts";
import { seededRandom } from "../../tests/support/random.ts";
import { sendMutations, type SendResult } from "./send.ts";
import { describeFds, settle, type Snapshot, snapshot } from "./observe.ts";

export interface SessionOptions extends TargetOptions {
  count: number;
  seed: number;
  /** Fuzz messages per second. */
  rate: number;
  /** Share of the messages sent over TCP. */
  tcpShare: number;
  /** Who places the background calls; the session stops it at the end. */
  caller: Caller;
  callsPerSecond: number;
  /** Longest wait for the baseline after the run, ms. */
  settleBoundMs: number;
  /** RSS may end this much above where it started (a garbage-collected heap keeps some). */
  rssSlackKiB: number;
  rfc4475Dir: string;
  /** Where the config (TargetOptions.dir), the log and a reproduction go. */
  log(line: string): void;
}

export interface SessionReport {
  seed: number;
  sent: SendResult;
  /** How vipless ended during the run, when it did: a crash. */
  crash: string | null;
  calls: CallOutcome;
  /** What the two pair members received from vipless. */
  members: MemberStats[];
  before: Snapshot;
  after: Snapshot | undefined;
  /** vipless's descriptors before the run and after it (when they did not return). */
  fdsBefore: string[];
  fdsAfter?: string[];
  /** How far RSS may end above its start. */
  rssSlackKiB: number;
  /** Highest vipless_transactions seen while sending. */
  peakTransactions: number;
  settleMs: number;
  problems: string[];
  /** File with the last messages sent, written when something went wrong. */
  reproduction?: string;
}

export async function runSession(o: SessionOptions): Promise<SessionReport> {
  const rt = await detectRuntime();
  const target = await startTarget(o);
  const { vip, pid, sipPort, httpPort, members, crashed } = target;
  try {
    const before = await baseline(target);
    const fdsBefore = describeFds(pid);
    o.log(
      `baseline: ${before.transactions} transactions, ${before.tcpConnections} TCP connections, ` +
        `${before.fds} fds, RSS ${(before.rssKiB / 1024).toFixed(1)} MiB`,
    );
    const seconds = o.count / o.rate;
    await o.caller.startCalls(sipPort, seconds, o.callsPerSecond);
    let peakTransactions = before.transactions;
    let sampling = true;
    const sampler = (async () => {
      while (sampling && crashed() === null) {
        const s = await snapshot(httpPort, pid);
        if (s) peakTransactions = Math.max(peakTransactions, s.transactions);
        await sleep(1000);
      }
    })();
    const sent = await sendMutations(rt, {
      proxy: { host: "127.0.0.1", port: sipPort },
      corpus: loadCorpus({ proxy: { host: "127.0.0.1", port: sipPort }, rfc4475Dir: o.rfc4475Dir }),
      rng: seededRandom(o.seed),
      count: o.count,
      rate: o.rate,
      tcpShare: o.tcpShare,
      maxUdpBytes: 65_000,
      maxTcpBytes: 100_000,
      stopWhen: crashed,
      maxMs: (seconds * 3 + 30) * 1000,
      progress: (n) => o.log(`sent ${n}`),
      keepLast: 200,
    });
    sampling = false;
    await sampler;
    const calls = await o.caller.finish();
    const secs = sent.seconds.toFixed(1);
    o.log(`sent ${sent.sent} in ${secs} s; calls: ${calls.successful}/${calls.placed}`);
    const settled = crashed() === null
      ? await settle(httpPort, pid, before, o.settleBoundMs)
      : { after: undefined, ms: 0, back: false };
    const crash = crashed();
    const after = settled.after;
    const memberStats = await members.stats();
    const memberDrops = memberStats.reduce((n, m) => n + m.kernelDrops, 0);
    const problems: string[] = [];
    if (crash) problems.push(crash);
    if (sent.stoppedEarly) problems.push(`sending stopped early: ${sent.stoppedEarly}`);
    if (calls.failed > 0) {
      // Datagrams lost at a member (in this process) fail calls without vipless's fault.
      const lost = memberDrops > 0 ? `; the members' sockets dropped ${memberDrops}` : "";
      const shed = after ? after.overloadRejections - before.overloadRejections : 0;
      const saturated = shed > 0
        ? `; vipless was saturated and refused ${shed} new requests (overload.max_delay): try a lower --rate`
        : "";
      problems.push(
        `${calls.failed} background calls failed (${calls.detail}${lost}${saturated})`,
      );
    }
    const malformed = memberStats.reduce((n, m) => n + m.malformed, 0);
    if (malformed > 0) problems.push(`${malformed} malformed messages reached the members`);
    if (sent.answersMalformed > 0) {
      problems.push(`${sent.answersMalformed} malformed messages came back from vipless`);
    }
    if (crash === null && after === undefined) problems.push("/metrics stopped answering");
    if (after && !settled.back) {
      problems.push(
        `not back to baseline after ${settled.ms} ms: transactions ${before.transactions} -> ` +
          `${after.transactions}, TCP connections ${before.tcpConnections} -> ` +
          `${after.tcpConnections}, fds ${before.fds} -> ${after.fds}`,
      );
    }
    if (after && after.rssKiB > before.rssKiB + o.rssSlackKiB) {
      problems.push(
        `RSS grew from ${before.rssKiB} to ${after.rssKiB} KiB (allowed +${o.rssSlackKiB} KiB)`,
      );
    }
    const report: SessionReport = {
      seed: o.seed,
      sent,
      crash,
      calls,
      members: memberStats,
      fdsBefore,
      fdsAfter: after && after.fds > before.fds ? describeFds(pid) : undefined,
      before,
      after,
      peakTransactions,
      rssSlackKiB: o.rssSlackKiB,
      settleMs: settled.ms,
      problems,
    };
    if (problems.length > 0) {
      report.reproduction = join(o.dir, "last-messages.jsonl");
      writeFileSync(
        report.reproduction,
        sent.last.map((m) => JSON.stringify(m)).join("\n") + "\n",
      );
      writeFileSync(join(o.dir, "vipless.log"), vip.output());
      writeFileSync(
        join(o.dir, "last-mutated-answers.jsonl"),
        memberStats.flatMap((m) => m.lastMutated.map((x) => JSON.stringify(x))).join("\n") + "\n",
      );
    }
    return report;
  } finally {
    await target.stop();
    await o.caller.stop();
  }
}
