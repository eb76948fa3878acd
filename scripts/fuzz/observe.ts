/**
 * What the fuzzer watches in the running vipless: its own counters from /metrics,
 * and its resident set and open descriptors from Linux /proc.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { rssKiB } from "../bench/proxy/procfs.ts";

export interface Snapshot {
  /** vipless_transactions: live server and client transactions. */
  transactions: number;
  /** vipless_tcp_connections. */
  tcpConnections: number;
  /** VmRSS of the process, KiB. */
  rssKiB: number;
  /** Entries of /proc/PID/fd. */
  fds: number;
  /** Sums over every label of a few counters, for the report. */
  requests: number;
  localResponses: number;
  dropped: number;
  /** vipless_overload_rejections_total: new requests refused because it was saturated. */
  overloadRejections: number;
}

/** Sums of every sample of each metric name in a Prometheus text exposition. */
export function metricSums(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) sums.set(m[1], (sums.get(m[1]) ?? 0) + v);
  }
  return sums;
}

/** The text of /metrics (bounded wait), or undefined when vipless does not answer. */
export async function metricsText(httpPort: number, timeoutMs = 5000): Promise<string | undefined> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: ac.signal });
    return await res.text();
  } catch {
    return undefined;
  } finally {
    clearTimeout(t);
  }
}

export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** One look at vipless; undefined when /metrics does not answer. */
export async function snapshot(httpPort: number, pid: number): Promise<Snapshot | undefined> {
  const text = await metricsText(httpPort);
  if (text === undefined) return undefined;
  const m = metricSums(text);
  return {
    transactions: m.get("vipless_transactions") ?? NaN,
    tcpConnections: m.get("vipless_tcp_connections") ?? NaN,
    rssKiB: rssKiB([pid]),
    fds: fdCount(pid),
    requests: m.get("vipless_requests_total") ?? 0,
    localResponses: m.get("vipless_local_responses_total") ?? 0,
    dropped: m.get("vipless_dropped_total") ?? 0,
    overloadRejections: m.get("vipless_overload_rejections_total") ?? 0,
  };
}

/** True when the counts that must return have returned to the baseline's. */
export function atBaseline(now: Snapshot, base: Snapshot): boolean {
  return now.transactions <= base.transactions && now.tcpConnections <= base.tcpConnections &&
    now.fds <= base.fds;
}

/**
 * Polls every 500 ms until `atBaseline`, at most `boundMs`; returns the last look
 * (undefined when vipless stopped answering) and how long it took.
 */
export async function settle(
  httpPort: number,
  pid: number,
  base: Snapshot,
  boundMs: number,
): Promise<{ after: Snapshot | undefined; ms: number; back: boolean }> {
  const t0 = Date.now();
  let after: Snapshot | undefined;
  for (;;) {
    after = await snapshot(httpPort, pid);
    const back = after !== undefined && atBaseline(after, base);
    if (back || Date.now() - t0 >= boundMs) return { after, ms: Date.now() - t0, back };
    await new Promise((r) => setTimeout(r, 500));
  }
}

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED",
  "02": "SYN_SENT",
  "03": "SYN_RECV",
  "04": "FIN_WAIT1",
  "05": "FIN_WAIT2",
  "06": "TIME_WAIT",
  "07": "CLOSE",
  "08": "CLOSE_WAIT",
  "09": "LAST_ACK",
  "0A": "LISTEN",
  "0B": "CLOSING",
};

/** "0100007F:1F90" (little-endian IPv4, hex port) -> "127.0.0.1:8080". */
function procAddress(hex: string): string {
  const [ip, port] = hex.split(":");
  if (ip.length !== 8) return hex;
  const bytes = [6, 4, 2, 0].map((i) => parseInt(ip.slice(i, i + 2), 16));
  return `${bytes.join(".")}:${parseInt(port, 16)}`;
}

/**
 * What each open descriptor of `pid` is: a TCP or UDP socket with its addresses and
 * state (from /proc/net), or the link target (pipe, eventpoll, file). For leak reports.
 */
export function describeFds(pid: number): string[] {
  const sockets = new Map<string, string>();
  for (const kind of ["tcp", "udp", "tcp6", "udp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${kind}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const state = kind.startsWith("tcp") ? ` ${TCP_STATES[f[3]] ?? f[3]}` : "";
      sockets.set(f[9], `${kind} ${procAddress(f[1])} -> ${procAddress(f[2])}${state}`);
    }
  }
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of names) {
    let target = "?";
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    out.push(`${fd}: ${inode ? (sockets.get(inode) ?? target) : target}`);
  }
  return out;
}

/**
 * Datagrams the kernel dropped on the UDP socket bound to `port` on 127.0.0.1 (its
 * receive buffer was full), from /proc/net/udp; 0 when there is no such socket.
 */
export function udpDrops(port: number): number {
  let text = "";
  try {
    text = readFileSync("/proc/net/udp", "utf8");
  } catch {
    return 0;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let drops = 0;
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) drops += Number(f[f.length - 1]) || 0;
  }
  return drops;
}
