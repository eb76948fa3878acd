/**
 * The part of the Runtime interface that Bun and Deno provide through the same standard
 * APIs (web timers, performance.now, node:dns, node:fs on /proc), written once for both
 * adapters.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { schedstatNs, THREAD_SCHEDSTAT, type UdpTableRow, udpTableRows } from "./libc.ts";
import type { Runtime } from "./types.ts";

export const portable: Pick<
  Runtime,
  | "now"
  | "monotonic"
  | "setTimer"
  | "clearTimer"
  | "lookup"
  | "socketBufferMax"
  | "udpReceiveDrops"
  | "udpReceiveQueue"
  | "processStats"
  | "threadSchedNs"
> = {
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
  socketBufferMax() {
    try {
      const read = (name: string) => Number(readFileSync(`/proc/sys/net/core/${name}`, "utf8"));
      const max = { receive: read("rmem_max"), send: read("wmem_max") };
      return Number.isFinite(max.receive) && Number.isFinite(max.send) ? max : null;
    } catch {
      return null;
    }
  },
  processStats() {
    // getrusage through node:process in both runtimes: no /proc, no clock-tick guess.
    const cpu = process.cpuUsage();
    let openFds: number | null = null;
    try {
      // One entry is the descriptor readdir itself opened.
      openFds = readdirSync("/proc/self/fd").length - 1;
    } catch {
      // Deno guards /proc/self behind --allow-all: the series is left out.
    }
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, openFds };
  },
  threadSchedNs() {
    // About 10 µs under Bun, read 20 times a second. Deno guards /proc behind
    // --allow-all: its adapter reads the same file through FFI.
    try {
      return schedstatNs(readFileSync(THREAD_SCHEDSTAT, "utf8"));
    } catch {
      return null;
    }
  },
  udpReceiveDrops(localPorts) {
    // Per socket (the drops column), matched by local port: only this process's ports
    // count, not the whole host's (the global RcvbufErrors in /proc/net/snmp would).
    return sumOverPorts(localPorts, (row) => row.drops);
  },
  udpReceiveQueue(localPorts) {
    return sumOverPorts(localPorts, (row) => row.rxQueue);
  },
};

/** A column of /proc/net/udp(6) summed over the sockets bound to `localPorts`, or null. */
function sumOverPorts(
  localPorts: readonly number[],
  column: (row: UdpTableRow) => number,
): number | null {
  const ports = new Set(localPorts);
  let total = 0;
  let seen = false;
  for (const path of ["/proc/net/udp", "/proc/net/udp6"]) {
    for (const row of udpTableRows(path)) {
      if (!ports.has(row.localPort)) continue;
      seen = true;
      total += column(row);
    }
  }
  return seen ? total : null;
}
