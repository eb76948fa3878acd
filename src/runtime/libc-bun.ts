/** libc through bun:ffi (built into Bun, also into a compiled executable; no permission). */
import { type Libc, openLibc, portOf, rlimitOf, SK_MEMINFO_WORDS, SO_MEMINFO } from "./libc.ts";

let loaded: Promise<Libc | string> | null = null;

/** Binds libc once; a string says why it cannot be (no such library, not Linux). */
export function loadBunLibc(): Promise<Libc | string> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Libc | string> {
  // A computed specifier keeps the bundle for Deno (dist/vipless.js) free of it.
  const specifier = "bun:ffi";
  let ffi: typeof import("bun:ffi");
  try {
    ffi = await import(specifier);
  } catch (e) {
    return `bun:ffi unavailable: ${(e as Error).message}`;
  }
  const symbols = {
    setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
    setrlimit: { args: ["i32", "ptr"], returns: "i32" },
    getrlimit: { args: ["i32", "ptr"], returns: "i32" },
    getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  } as const;
  const lib = openLibc((name) => ffi.dlopen(name, symbols));
  if (typeof lib === "string") return lib;
  const { setsockopt, getsockopt, setrlimit, getrlimit, getsockname } = lib.symbols;
  return {
    setIntOption(fd, level, name, value) {
      return setsockopt(fd, level, name, ffi.ptr(new Int32Array([value])), 4);
    },
    getIntOption(fd, level, name) {
      const out = new Int32Array(1);
      const len = new Uint32Array([4]);
      return getsockopt(fd, level, name, ffi.ptr(out), ffi.ptr(len)) === 0 ? out[0] : -1;
    },
    setOpenFileLimit(soft, hard) {
      // RLIMIT_NOFILE is 7 on Linux; struct rlimit is two 64-bit counts.
      return setrlimit(7, ffi.ptr(new BigUint64Array([BigInt(soft), BigInt(hard)])));
    },
    getOpenFileLimit() {
      const out = new BigUint64Array(2);
      return getrlimit(7, ffi.ptr(out)) === 0 ? rlimitOf(out) : null;
    },
    socketDrops(fd) {
      const out = new Uint32Array(SK_MEMINFO_WORDS);
      const len = new Uint32Array([out.byteLength]);
      const r = getsockopt(fd, 1, SO_MEMINFO, ffi.ptr(out), ffi.ptr(len));
      return r === 0 && len[0] >= out.byteLength ? out[SK_MEMINFO_WORDS - 1] : -1;
    },
    localPort(fd) {
      const addr = new Uint8Array(128);
      const len = new Uint32Array([128]);
      return getsockname(fd, ffi.ptr(addr), ffi.ptr(len)) === 0 ? portOf(addr) : -1;
    },
  };
}
