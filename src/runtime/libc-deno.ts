/**
 * libc through Deno.dlopen. FFI needs `--allow-ffi`; without it this says so instead
 * of asking (a permission prompt would stall a service started from a terminal).
 */
import { type Libc, openLibc, portOf, rlimitOf, SK_MEMINFO_WORDS, SO_MEMINFO } from "./libc.ts";

let loaded: Libc | string | null = null;

export function loadDenoLibc(): Promise<Libc | string> {
  loaded ??= load();
  return Promise.resolve(loaded);
}

function load(): Libc | string {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "Deno runs without --allow-ffi";
  }
  const symbols = {
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
    setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  } as const;
  const lib = openLibc((name) => Deno.dlopen(name, symbols));
  if (typeof lib === "string") return lib;
  const { setsockopt, getsockopt, setrlimit, getrlimit, getsockname } = lib.symbols;
  return {
    setIntOption: (fd, level, name, value) =>
      setsockopt(fd, level, name, new Int32Array([value]), 4),
    getIntOption(fd, level, name) {
      const out = new Int32Array(1);
      return getsockopt(fd, level, name, out, new Uint32Array([4])) === 0 ? out[0] : -1;
    },
    // RLIMIT_NOFILE is 7 on Linux; struct rlimit is two 64-bit counts.
    setOpenFileLimit: (soft, hard) =>
      setrlimit(7, new BigUint64Array([BigInt(soft), BigInt(hard)])),
    getOpenFileLimit() {
      const out = new BigUint64Array(2);
      return getrlimit(7, out) === 0 ? rlimitOf(out) : null;
    },
    socketDrops(fd) {
      const out = new Uint32Array(SK_MEMINFO_WORDS);
      const len = new Uint32Array([out.byteLength]);
      const r = getsockopt(fd, 1, SO_MEMINFO, out, len);
      return r === 0 && len[0] >= out.byteLength ? out[SK_MEMINFO_WORDS - 1] : -1;
    },
    localPort(fd) {
      const addr = new Uint8Array(128);
      return getsockname(fd, addr, new Uint32Array([128])) === 0 ? portOf(addr) : -1;
    },
  };
}
