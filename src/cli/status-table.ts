/** `vipless status`: the /status JSON as a table an operator reads at a glance. */

interface MemberView {
  uri: string;
  role: string;
  active: boolean;
  status: string;
  suspect?: boolean;
  maintenance?: boolean;
  rttMs: number | null;
}

interface PairView {
  name: string;
  state: string;
  members: MemberView[];
  switchoverCount?: number;
}

export interface StatusView {
  version?: string;
  runtime?: string;
  serve?: string;
  pairs: PairView[];
}

/** One line per member, the pair's name and state on its first member's line. */
export function statusTable(s: StatusView): string {
  const head = ["PAIR", "STATE", "ROLE", "MEMBER", "HEALTH", "ACTIVE", "MAINTENANCE", "RTT"];
  const rows: string[][] = [];
  for (const p of s.pairs) {
    p.members.forEach((m, i) => {
      rows.push([
        i === 0 ? p.name + (p.name === s.serve ? " *" : "") : "",
        i === 0 ? p.state : "",
        m.role,
        m.uri,
        m.status + (m.suspect ? " (suspect)" : ""),
        m.active ? "active" : "",
        m.maintenance === undefined ? "-" : m.maintenance ? "on" : "off",
        typeof m.rttMs === "number" ? `${m.rttMs.toFixed(m.rttMs < 10 ? 2 : 1)} ms` : "-",
      ]);
    });
  }
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join("  ").trimEnd();
  const title = s.version ? `vipless ${s.version}${s.runtime ? ` (${s.runtime})` : ""}` : "vipless";
  const foot = s.serve ? `\n* the pair this instance serves` : "";
  return [title, line(head), ...rows.map(line)].join("\n") + foot;
}

/** One line about a pair after an admin action: its state and active member. */
export function pairLine(p: unknown): string | null {
  if (typeof p !== "object" || p === null) return null;
  const { name, state, active, activeRole } = p as Record<string, unknown>;
  if (typeof name !== "string" || typeof state !== "string") return null;
  return active ? `${name}: ${state}, active ${activeRole} ${active}` : `${name}: ${state}`;
}
