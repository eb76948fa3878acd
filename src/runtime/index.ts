/** Chooses the runtime adapter at start: the only place that asks which runtime this is. */
import type { Runtime } from "./types.ts";
export type * from "./types.ts";

export async function detectRuntime(): Promise<Runtime> {
  if (typeof Bun !== "undefined") return (await import("./bun.ts")).createBunRuntime();
  if (typeof Deno !== "undefined") return (await import("./deno.ts")).createDenoRuntime();
  throw new Error("vipless runs under Bun or Deno");
}
