/**
 * The few facts of `GET /status` that tell the failover story (pair state, active
 * member, which members are up, the last switchover), as short lines of plain words.
 */

interface MemberJson {
  uri: string;
  role: string;
  status: string;
  consecutiveFailures: number;
  rttMs: number | null;
  lastAnswerAt: string | null;
}

interface SwitchoverJson {
  at: string;
  from: string | null;
  to: string | null;
  fromRole: string | null;
  toRole: string | null;
  reason: string;
}

interface PairJson {
  name: string;
  state: string;
  active: string | null;
  activeRole: string | null;
  since: string;
  members: MemberJson[];
  switchoverCount: number;
  switchovers: SwitchoverJson[];
}

/** `when` turns an ISO time from /status into the demo's own "12.3s" clock. */
export function statusExcerpt(body: unknown, when: (iso: string) => string): string[] {
  const pairs = (body as { pairs?: PairJson[] }).pairs ?? [];
  const lines: string[] = [];
  for (const p of pairs) {
    const active = p.active ? `${p.activeRole} ${p.active}` : "none (out of service)";
    lines.push(`pair ${p.name}: state ${p.state} since ${when(p.since)}, active member ${active}`);
    const width = Math.max(...p.members.map((m) => m.uri.length));
    for (const m of p.members) {
      const detail = m.status === "up"
        ? `answers probes${m.rttMs === null ? "" : ` in ${m.rttMs} ms`}`
        : m.status === "down"
        ? `${m.consecutiveFailures} probes missed, last answer ${
          m.lastAnswerAt ? when(m.lastAnswerAt) : "never"
        }`
        : "not probed yet";
      lines.push(`  ${m.role.padEnd(7)} ${m.uri.padEnd(width)} ${m.status.padEnd(4)}  ${detail}`);
    }
    const last = p.switchovers.at(-1);
    if (last) {
      lines.push(
        `  last switchover at ${when(last.at)}: ${last.fromRole ?? "none"} -> ${
          last.toRole ?? "none"
        } (${last.reason}); ${p.switchoverCount} in all`,
      );
    }
  }
  return lines;
}
