/**
 * The part of the Runtime interface that Bun and Deno provide through the same standard
 * APIs (web timers, performance.now, node:dns), written once for both adapters.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import type { Runtime } from "./types.ts";

export const portable: Pick<Runtime, "now" | "monotonic" | "setTimer" | "clearTimer" | "lookup"> = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer: (ms, fn) => ({ id: setTimeout(fn, ms) }),
  clearTimer(handle) {
    clearTimeout(handle.id as ReturnType<typeof setTimeout>);
  },
  async lookup(host) {
    // node:dns is native in both runtimes and honours /etc/hosts and nsswitch.
    return (await dnsLookup(host, { family: 0, order: "ipv4first" })).address;
  },
};
