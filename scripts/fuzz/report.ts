/** The fuzz session's report, as lines for a terminal. */
import type { SessionReport } from "./session.ts";

const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

export function reportLines(r: SessionReport): string[] {
  const s = r.sent;
  const a = r.after;
  const lines = [
    `seed ${r.seed}`,
    `messages sent: ${s.sent} (${s.udp} UDP, ${s.tcp} TCP on ${s.tcpConnects} connections; ` +
    `${s.tcpClosedByPeer} closed by vipless, ${s.tcpConnectErrors} connects refused) ` +
    `in ${s.seconds.toFixed(1)} s (longest pause of the sender ${s.maxTickGapMs} ms); ` +
    `${s.responses} datagrams/chunks came back`,
    `crashes: ${r.crash ? 1 : 0}${r.crash ? ` (${r.crash})` : ""}`,
    `background calls: ${r.calls.placed} placed, ${r.calls.successful} successful, ` +
    `${r.calls.failed} failed${r.calls.detail ? ` (${r.calls.detail})` : ""}`,
    `members received: ${r.members.map((m) => `${m.requests} requests`).join(" and ")}, ` +
    `${r.members.reduce((n, m) => n + m.malformed, 0)} of them malformed; they mutated ` +
    `${r.members.reduce((n, m) => n + m.mutatedAnswers, 0)} answers to the fuzzer; the ` +
    `kernel dropped ${r.members.map((m) => m.kernelDrops).join(" and ")} datagrams for them`,
    `malformed datagrams back from vipless: ${s.answersMalformed}`,
    `transactions: ${r.before.transactions} before, peak ${r.peakTransactions}, ` +
    `${a?.transactions ?? "?"} after ${(r.settleMs / 1000).toFixed(1)} s`,
    `TCP connections: ${r.before.tcpConnections} before, ${a?.tcpConnections ?? "?"} after`,
    `open fds: ${r.before.fds} before, ${a?.fds ?? "?"} after`,
    `RSS: ${mib(r.before.rssKiB)} before, ${a ? mib(a.rssKiB) : "?"} after ` +
    `(allowed +${mib(r.rssSlackKiB)})`,
    `vipless counted: ${a?.requests ?? "?"} requests, ${a?.localResponses ?? "?"} local answers, ` +
    `${a?.dropped ?? "?"} dropped, ${
      a ? a.overloadRejections - r.before.overloadRejections : "?"
    } ` +
    `refused as overload`,
  ];
  for (const p of r.problems) lines.push(`PROBLEM: ${p}`);
  if (r.fdsAfter) {
    const old = new Set(r.fdsBefore);
    for (const fd of r.fdsAfter) if (!old.has(fd)) lines.push(`descriptor left open: ${fd}`);
  }
  for (const m of r.members) for (const t of m.samples) lines.push(`malformed at a member: ${t}`);
  for (const t of s.answerSamples) lines.push(`malformed back from vipless: ${t}`);
  if (r.reproduction) lines.push(`last messages sent (JSON lines): ${r.reproduction}`);
  lines.push(r.problems.length === 0 ? "fuzz: PASS" : "fuzz: FAIL");
  return lines;
}
