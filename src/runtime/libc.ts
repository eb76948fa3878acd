/**
 * The few libc calls vipless makes through a runtime's FFI, where neither runtime has an
 * API: socket buffer sizes (SO_RCVBUF/SO_SNDBUF on a UDP socket's descriptor) and the
 * open-files limit (RLIMIT_NOFILE). `libc-bun.ts` and `libc-deno.ts` bind them (over
 * `libc-bind.ts`, which holds the signatures and the calls built on them); what
 * to do with them is written once, here. Linux only: elsewhere the loaders fail and the
 * callers report why.
 */
import { readFileSync } from "node:fs";
import type { Result } from "../result.ts";

export interface Libc {
  /** setsockopt(fd, level, name, &int, 4); returns 0 or -1. */
  setIntOption(fd: number, level: number, name: number, value: number): number;
  /** getsockopt(fd, level, name, &int, &4): the value, or -1. */
  getIntOption(fd: number, level: number, name: number): number;
  /** setrlimit(RLIMIT_NOFILE, {soft, hard}); returns 0 or -1. */
  setOpenFileLimit(soft: number, hard: number): number;
  /** getrlimit(RLIMIT_NOFILE), or null on failure. */
  getOpenFileLimit(): { soft: number; hard: number } | null;
  /** The local port of socket `fd` (getsockname), or -1 when it is no socket. */
  localPort(fd: number): number;
  /** Datagrams the kernel dropped on socket `fd` (SO_MEMINFO's drops), or -1. */
  socketDrops(fd: number): number;
  /** Bytes the kernel holds unread on socket `fd` (SO_MEMINFO's rmem_alloc), or -1. */
  socketQueueBytes(fd: number): number;
  /** The calling thread's run plus run-queue wait, ns (schedstatNs), or -1. */
  threadSchedNs(): number;
}

/** The scheduler's account of the calling thread: ns on a CPU, ns waiting for one, slices. */
export const THREAD_SCHEDSTAT = "/proc/thread-self/schedstat";

/**
 * The time a thread ran plus the time it was runnable but waited for a CPU, ns, from
 * its schedstat line; null when the text is not one. Both count as busy: a thread
 * that waits for a CPU another process holds is not idle, it is short of capacity.
 */
export function schedstatNs(text: string): number | null {
  const m = /^(\d+) (\d+)/.exec(text);
  return m ? Number(m[1]) + Number(m[2]) : null;
}

/** Shared object names tried in order: glibc, then musl. */
export const LIBC_NAMES = ["libc.so.6", "libc.so"];

/** The first of LIBC_NAMES that `open` (a runtime's dlopen) loads, or why none did. */
export function openLibc<L>(open: (name: string) => L): L | string {
  let why = "";
  for (const name of LIBC_NAMES) {
    try {
      return open(name);
    } catch (e) {
      why = (e as Error).message;
    }
  }
  return `libc not loadable: ${why}`;
}

/** struct rlimit as two counts; RLIM_INFINITY reads as MAX_SAFE_INTEGER. */
export function rlimitOf(raw: BigUint64Array): { soft: number; hard: number } {
  const num = (
    v: bigint,
  ) => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));
  return { soft: num(raw[0]), hard: num(raw[1]) };
}

/** The port of a sockaddr_in or sockaddr_in6 (family AF_INET 2 or AF_INET6 10), else -1. */
export function portOf(addr: Uint8Array): number {
  const family = addr[0] | (addr[1] << 8); // sa_family_t, host order (little-endian)
  return family === 2 || family === 10 ? (addr[2] << 8) | addr[3] : -1;
}

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_TYPE = 3;
const SOCK_DGRAM = 2;

/** What a UDP socket's buffers are after bind: the kernel's figures, or why unknown. */
export type UdpBuffers = Result<{ receive: number; send: number }, string>;

/**
 * Asks for `want` bytes of receive and send buffer and reads back what the kernel
 * granted (Linux reports twice the asked size, its bookkeeping included, capped by
 * net.core.rmem_max / wmem_max unless the process has CAP_NET_ADMIN).
 */
export function setUdpBuffers(
  libc: Libc,
  fd: number,
  want: { receive: number; send: number },
): UdpBuffers {
  const r = want.receive > 0 ? libc.setIntOption(fd, SOL_SOCKET, SO_RCVBUF, want.receive) : 0;
  const s = want.send > 0 ? libc.setIntOption(fd, SOL_SOCKET, SO_SNDBUF, want.send) : 0;
  if (r !== 0 || s !== 0) return { ok: false, error: "setsockopt failed" };
  return {
    ok: true,
    receive: libc.getIntOption(fd, SOL_SOCKET, SO_RCVBUF),
    send: libc.getIntOption(fd, SOL_SOCKET, SO_SNDBUF),
  };
}

/** The process's open-files limit, from /proc/self/limits (null when unreadable). */
export function readOpenFileLimit(): { soft: number; hard: number } | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n")
      .find((l) => l.startsWith("Max open files"));
    const m = line?.match(/^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/);
    if (!m) return null;
    const num = (s: string) => (s === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(s));
    return { soft: num(m[1]), hard: num(m[2]) };
  } catch {
    return null;
  }
}

/** The open-files limit at start and what was done about it, for one log line. */
export interface OpenFileLimit {
  soft: number;
  hard: number;
  /** True when vipless raised the soft limit itself. */
  raised: boolean;
  /** Why the soft limit stays below the hard one, when it does. */
  note: string | null;
}

/**
 * Raises the soft open-files limit to the hard one. Both runtimes do this themselves at
 * start on Linux (measured: a soft limit of 1024 reads 20000 = hard inside Bun 1.4 and
 * Deno 2.9), so this only acts when one did not.
 */
export async function raiseOpenFileLimit(
  load: () => Promise<Libc | string>,
): Promise<OpenFileLimit | null> {
  // /proc first (no FFI needed); Deno guards /proc behind --allow-all, so getrlimit next.
  let libc: Libc | string | null = null;
  const read = async () => {
    const proc = readOpenFileLimit();
    if (proc) return proc;
    libc ??= await load();
    return typeof libc === "string" ? null : libc.getOpenFileLimit();
  };
  const before = await read();
  if (!before) return null;
  if (before.soft >= before.hard) return { ...before, raised: false, note: null };
  libc ??= await load();
  if (typeof libc === "string") return { ...before, raised: false, note: libc };
  if (libc.setOpenFileLimit(before.hard, before.hard) !== 0) {
    return { ...before, raised: false, note: "setrlimit failed" };
  }
  const after = (await read()) ?? before;
  return { ...after, raised: after.soft > before.soft, note: null };
}

/**
 * The descriptor of this process's socket bound to `port`, for runtimes that do not
 * expose it, found with getsockname over the open descriptors (no /proc needed, which
 * Deno guards behind --allow-all). The newest (highest) match is the one just bound.
 */
export function findUdpSocketFd(libc: Libc, port: number): number | null {
  const limit = Math.min(libc.getOpenFileLimit()?.soft ?? 1024, 65_536);
  let found: number | null = null;
  for (let fd = 3; fd < limit; fd++) {
    // A TCP listener may share the port number: only a datagram socket counts.
    if (libc.localPort(fd) === port && libc.getIntOption(fd, SOL_SOCKET, SO_TYPE) === SOCK_DGRAM) {
      found = fd;
    }
  }
  return found;
}

/** One row of /proc/net/udp or /proc/net/udp6. */
export interface UdpTableRow {
  localPort: number;
  inode: string;
  /** Datagrams the kernel dropped for this socket (full receive buffer and others). */
  drops: number;
  /** Bytes waiting to be read (the kernel's accounting: each datagram with its overhead). */
  rxQueue: number;
}

/** Rows of a /proc/net/udp-format table; empty when unreadable (not Linux). */
export function udpTableRows(path: string): UdpTableRow[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const rows: UdpTableRow[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const colon = f[1].lastIndexOf(":");
    rows.push({
      localPort: parseInt(f[1].slice(colon + 1), 16),
      inode: f[9],
      drops: Number(f[12]),
      rxQueue: parseInt(f[4].slice(f[4].indexOf(":") + 1), 16),
    });
  }
  return rows;
}
