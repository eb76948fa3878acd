/** libc through bun:ffi (built into Bun, also into a compiled executable; no permission). */
import { type Libc, openLibc } from "./libc.ts";
import { type BoundLibc, libcOver, libcSymbols } from "./libc-bind.ts";

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
  // bun:ffi names the types as the table does ("i32", "u32", "ptr").
  const symbols = libcSymbols((args) => ({ args: [...args], returns: "i32" as const }));
  const lib = openLibc((name) => ffi.dlopen(name, symbols));
  if (typeof lib === "string") return lib;
  // The table above is what TypeScript sees as BoundLibc: bun:ffi cannot infer it
  // from a table built at run time.
  const bound = lib.symbols as unknown as BoundLibc<ReturnType<typeof ffi.ptr>>;
  return libcOver(bound, (buffer) => ffi.ptr(buffer));
}
