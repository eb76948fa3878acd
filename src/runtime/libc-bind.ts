/**
 * What both FFI bindings of libc share: the C signatures bound (one table, each
 * runtime translates its type names) and the `Libc` calls built over the bound
 * functions. `libc-bun.ts` and `libc-deno.ts` only open the library and say how a
 * buffer becomes a pointer argument.
 */
import { type Libc, portOf, rlimitOf, schedstatNs, THREAD_SCHEDSTAT } from "./libc.ts";

/**
 * Argument types of the functions bound; each returns an int (pread's ssize_t fits: it
 * reads a few dozen bytes). "ptr": a buffer's address.
 */
export const LIBC_SIGNATURES = {
  setsockopt: ["i32", "i32", "i32", "ptr", "u32"],
  getsockopt: ["i32", "i32", "i32", "ptr", "ptr"],
  setrlimit: ["i32", "ptr"],
  getrlimit: ["i32", "ptr"],
  getsockname: ["i32", "ptr", "ptr"],
  open: ["ptr", "i32"],
  pread: ["i32", "ptr", "u64", "i64"],
} as const;

export type LibcArgType = (typeof LIBC_SIGNATURES)[keyof typeof LIBC_SIGNATURES][number];

/** The table in a runtime's own shape: `describe` turns one signature into its FFI form. */
export function libcSymbols<F>(
  describe: (args: readonly LibcArgType[]) => F,
): Record<keyof typeof LIBC_SIGNATURES, F> {
  const out = {} as Record<keyof typeof LIBC_SIGNATURES, F>;
  for (const [name, args] of Object.entries(LIBC_SIGNATURES)) {
    out[name as keyof typeof LIBC_SIGNATURES] = describe(args);
  }
  return out;
}

/** The bound functions of LIBC_SIGNATURES as TypeScript sees them; P is a pointer argument. */
export interface BoundLibc<P> {
  setsockopt(fd: number, level: number, name: number, value: P, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: P, len: P): number;
  setrlimit(resource: number, limit: P): number;
  getrlimit(resource: number, limit: P): number;
  getsockname(fd: number, addr: P, len: P): number;
  open(path: P, flags: number): number;
  pread(fd: number, buf: P, count: number, offset: number): number;
}

const RLIMIT_NOFILE = 7;
const SOL_SOCKET = 1;
/**
 * getsockopt SO_MEMINFO (Linux 4.6+): nine u32 counters, the receive queue's bytes
 * (rmem_alloc, what /proc/net/udp calls rx_queue) first, drops the last.
 */
const SO_MEMINFO = 55;
const SK_MEMINFO_WORDS = 9;
const SK_MEMINFO_RMEM_ALLOC = 0;
const SK_MEMINFO_DROPS = 8;
const O_RDONLY = 0, O_CLOEXEC = 0o2000000;

/** The buffers the calls pass by address. */
export type CBuffer =
  | Int32Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>
  | BigUint64Array<ArrayBuffer>;

/** The `Libc` calls over bound functions; `ptr` makes a buffer a pointer argument. */
export function libcOver<P>(c: BoundLibc<P>, ptr: (buffer: CBuffer) => P): Libc {
  // One buffer for every SO_MEMINFO read: the socket-queue sampler reads 20 times a second.
  const info = new Uint32Array(SK_MEMINFO_WORDS);
  const infoLen = new Uint32Array(1);
  const memInfo = (fd: number, word: number) => {
    infoLen[0] = info.byteLength;
    const r = c.getsockopt(fd, SOL_SOCKET, SO_MEMINFO, ptr(info), ptr(infoLen));
    return r === 0 && infoLen[0] >= info.byteLength ? info[word] : -1;
  };
  // The calling thread's schedstat, opened on first use (from the main thread, the one
  // that reads the sockets) and read again at offset 0 on every sample.
  let schedFd: number | null = null;
  const sched = new Uint8Array(128);
  return {
    threadSchedNs() {
      schedFd ??= c.open(ptr(cString(THREAD_SCHEDSTAT)), O_RDONLY | O_CLOEXEC);
      const n = schedFd < 0 ? -1 : c.pread(schedFd, ptr(sched), sched.length, 0);
      return n > 0 ? (schedstatNs(new TextDecoder().decode(sched.subarray(0, n))) ?? -1) : -1;
    },
    setIntOption: (fd, level, name, value) =>
      c.setsockopt(fd, level, name, ptr(new Int32Array([value])), 4),
    getIntOption(fd, level, name) {
      const out = new Int32Array(1);
      return c.getsockopt(fd, level, name, ptr(out), ptr(new Uint32Array([4]))) === 0 ? out[0] : -1;
    },
    // struct rlimit is two 64-bit counts.
    setOpenFileLimit: (soft, hard) =>
      c.setrlimit(RLIMIT_NOFILE, ptr(new BigUint64Array([BigInt(soft), BigInt(hard)]))),
    getOpenFileLimit() {
      const out = new BigUint64Array(2);
      return c.getrlimit(RLIMIT_NOFILE, ptr(out)) === 0 ? rlimitOf(out) : null;
    },
    socketDrops: (fd) => memInfo(fd, SK_MEMINFO_DROPS),
    socketQueueBytes: (fd) => memInfo(fd, SK_MEMINFO_RMEM_ALLOC),
    localPort(fd) {
      const addr = new Uint8Array(128);
      return c.getsockname(fd, ptr(addr), ptr(new Uint32Array([128]))) === 0 ? portOf(addr) : -1;
    },
  };
}

/** `text` as a NUL-terminated C string. */
function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
