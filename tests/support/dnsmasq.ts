/**
 * A real DNS server for the tests: Debian's dnsmasq on a loopback port, serving only
 * the records a test gives it (no upstream, no /etc/hosts). Absent dnsmasq, `available`
 * says why, and the tests that need it skip saying so.
 */
import { spawnSync } from "node:child_process";
import { freePort, type Proc, start } from "./vipless-process.ts";

export function dnsmasqMissing(): string | null {
  const r = spawnSync("dnsmasq", ["--version"], { encoding: "utf8" });
  return r.error ? `dnsmasq not found (${r.error.message}); apt-get install dnsmasq-base` : null;
}

export interface Zone {
  /** name → addresses (IPv4 or IPv6); --host-record. */
  hosts?: Record<string, string[]>;
  /** [name, target, port, priority, weight]; --srv-host. */
  srv?: Array<[string, string, number, number, number]>;
  /** [name, order, preference, flags, service, replacement]; --naptr-record. */
  naptr?: Array<[string, number, number, string, string, string]>;
  /** TTL of every record (seconds). */
  ttl?: number;
}

export interface DnsServer {
  host: string;
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

export function zoneArgs(zone: Zone): string[] {
  const args: string[] = [];
  for (const [name, addrs] of Object.entries(zone.hosts ?? {})) {
    args.push(`--host-record=${[name, ...addrs].join(",")}`);
  }
  for (const [name, target, port, prio, weight] of zone.srv ?? []) {
    args.push(`--srv-host=${name},${target},${port},${prio},${weight}`);
  }
  for (const [name, order, pref, flags, service, repl] of zone.naptr ?? []) {
    args.push(`--naptr-record=${name},${order},${pref},${flags},${service},,${repl}`);
  }
  return args;
}

export async function startDnsmasq(zone: Zone): Promise<DnsServer> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort("udp");
    const proc = start("dnsmasq", [
      "--no-daemon",
      "--log-facility=-",
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--no-resolv",
      "--no-hosts",
      "--pid-file=",
      "--conf-file=/dev/null",
      // Names under .test are answered here only: an unknown one is NXDOMAIN, not REFUSED.
      "--local=/test/",
      `--local-ttl=${zone.ttl ?? 30}`,
      `--auth-ttl=${zone.ttl ?? 30}`,
      ...zoneArgs(zone),
    ]);
    try {
      await proc.waitForOutput(/started, version/, 5000);
      return { host: "127.0.0.1", port, proc, stop: () => proc.stop() };
    } catch (e) {
      await proc.stop();
      if (attempt === 4) throw e;
    }
  }
  throw new Error("dnsmasq did not start");
}
