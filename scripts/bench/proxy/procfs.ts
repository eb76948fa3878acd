/**
 * CPU time and memory of a process and its descendants, read from Linux /proc.
 * Kamailio is a tree of worker processes, so its cost is the sum over the tree.
 */
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: the unit of utime/stime in /proc/PID/stat; 100 on every Linux ABI in use. */
const CLOCK_TICKS = 100;

interface Stat {
  ppid: number;
  /** utime + stime, seconds. */
  cpu: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after the last ")".
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 10_000) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** utime + stime in seconds, summed over the processes (all threads of each). */
export function cpuSeconds(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) sum += readStat(pid)?.cpu ?? 0;
  return sum;
}

function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM), KiB, summed over the processes. */
export function peakRssKiB(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusKiB(pid, "VmHWM"), 0);
}

/** Current resident set (VmRSS), KiB, summed over the processes. */
export function rssKiB(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + statusKiB(pid, "VmRSS"), 0);
}

/**
 * The kernel's UDP RcvbufErrors (datagrams dropped for a full receive buffer) from
 * /proc/net/snmp: machine-wide, every socket of every process, so a delta over a run
 * includes SIPp's sockets and anything else running. undefined where unreadable.
 */
export function udpRcvbufErrors(): number | undefined {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8").split("\n")
      .filter((l) => l.startsWith("Udp:"));
    if (lines.length < 2) return undefined;
    const head = lines[0].split(/\s+/);
    const values = lines[1].split(/\s+/);
    const i = head.indexOf("RcvbufErrors");
    return i < 0 ? undefined : Number(values[i]);
  } catch {
    return undefined;
  }
}

/** The machine's CPU time so far (jiffies): all of it, and what the hypervisor stole. */
export interface CpuTimes {
  total: number;
  steal: number;
}

/** From /proc/stat's first line (user nice system idle iowait irq softirq steal ...). */
export function machineCpuTimes(): CpuTimes | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/**
 * The share of the machine's CPU time the hypervisor gave to other guests between two
 * readings (0-1), NaN where unknown. On a shared VM this, more than the load average,
 * says whether a run measured vipless or its neighbours.
 */
export function stealShare(from: CpuTimes | undefined, to: CpuTimes | undefined): number {
  if (!from || !to || to.total <= from.total) return NaN;
  return (to.steal - from.steal) / (to.total - from.total);
}
