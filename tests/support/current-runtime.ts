/** Which runtime runs this test file: every test file runs under both Bun and Deno. */
export const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
export const RUNTIME: "bun" | "deno" = underDeno ? "deno" : "bun";
