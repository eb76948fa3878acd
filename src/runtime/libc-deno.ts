/**
 * libc through Deno.dlopen. FFI needs `--allow-ffi`; without it this says so instead
 * of asking (a permission prompt would stall a service started from a terminal).
 */
import { type Libc, openLibc } from "./libc.ts";
import { type BoundLibc, libcOver, libcSymbols } from "./libc-bind.ts";

let loaded: Libc | string | null = null;

export function loadDenoLibc(): Promise<Libc | string> {
  return Promise.resolve(denoLibc());
}

/** The same, synchronously (Deno.dlopen is): for calls made 20 times a second. */
export function denoLibc(): Libc | string {
  loaded ??= load();
  return loaded;
}

function load(): Libc | string {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "Deno runs without --allow-ffi";
  }
  // Deno passes a typed array for a pointer argument as its "buffer" type.
  const symbols = libcSymbols((args) => ({
    parameters: args.map((t) => (t === "ptr" ? "buffer" : t)),
    result: "i32" as const,
  }));
  const lib = openLibc((name) => Deno.dlopen(name, symbols));
  if (typeof lib === "string") return lib;
  // The table is what TypeScript sees as BoundLibc: Deno cannot infer it from a table
  // built at run time.
  const bound = lib.symbols as unknown as BoundLibc<BufferSource>;
  return libcOver(bound, (buffer) => buffer);
}
