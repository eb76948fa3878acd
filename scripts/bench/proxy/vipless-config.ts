/**
 * The YAML each vipless target runs with, and the one-line statement of what it
 * overrides that every table prints beside the numbers: a figure means little unless
 * the reader knows whether it came from the shipped defaults or from tuned keys.
 */
import { HOST } from "./sipp.ts";

export interface Ports {
  sip: number;
  http: number;
  primary: number;
  backup: number;
}

/** A probe setting applied to every vipless target (`--probe-profile`). */
export interface ProbeProfile {
  name: string;
  interval: string;
  timeout: string;
  failures: number;
}

/** The profiles `--probe-profile` takes. "subsecond" is the one issues 10 and 11 name. */
export const PROBE_PROFILES: Record<string, ProbeProfile> = {
  subsecond: { name: "sub-second", interval: "500ms", timeout: "300ms", failures: 2 },
};

export interface Settings {
  /** No response this long: the request is retried on the other member. */
  failoverMs: number;
  maxTransactions: number;
  /** Probe settings for every vipless target; undefined: each target's own. */
  probe?: ProbeProfile;
  kamailioChildren: number;
  /** The UAC opens one UDP socket per call (SIPp -t un) instead of one for all. */
  uacPerCallSockets?: boolean;
  kamailioShmMiB: number;
  kamailioPkgMiB: number;
}

/** How a vipless target departs from the shipped configuration. */
export interface Variant {
  /** true: the shipped defaults; only addresses, the pair and the log format are given. */
  defaults: boolean;
  workers: number;
}

/** The probe the tuned targets ran with before profiles existed (now also the default). */
const TUNED_PROBE: ProbeProfile = { name: "tuned", interval: "1s", timeout: "500ms", failures: 2 };

const probeText = (p: ProbeProfile) => `${p.interval}/${p.timeout}/${p.failures}`;

/** The part every target shares: where it listens, what it serves, how it logs. */
function addresses(p: Ports): string[] {
  return [
    `listen: [udp://${HOST}:${p.sip}]`,
    `advertise: ${HOST}:${p.sip}`,
    "serve: bench",
    `http: { listen: "${HOST}:${p.http}" }`,
    "pairs:",
    "  - name: bench",
    `    primary: sip:${HOST}:${p.primary}`,
    `    backup: sip:${HOST}:${p.backup}`,
    // info is the shipped level (member-up is logged at info); JSON so the bench can
    // count HA events from the log.
    "log: { level: info, format: json }",
  ];
}

export function viplessYaml(p: Ports, s: Settings, v: Variant): string {
  const lines = addresses(p);
  const probe = s.probe ?? (v.defaults ? undefined : TUNED_PROBE);
  if (probe) {
    lines.push(
      `probe: { interval: ${probe.interval}, timeout: ${probe.timeout}, ` +
        `failures: ${probe.failures} }`,
    );
  }
  if (v.workers !== 1) lines.push(`workers: ${v.workers}`);
  if (!v.defaults) {
    lines.push(
      `failover: { timeout: ${s.failoverMs}ms }`,
      // Transactions linger up to 64*T1 = 32 s after a call (RFC 6026 Timer L/M, Timer
      // J): the bound must exceed rate x 32 s x ~3, as Kamailio gets enough shared memory.
      `sip: { max_transactions: ${s.maxTransactions} }`,
    );
  }
  return lines.join("\n") + "\n";
}

/** What the target overrides, for the tables: "defaults", or the keys it sets. */
export function viplessConfigText(s: Settings, v: Variant): string {
  const workers = v.workers !== 1 ? `workers: ${v.workers}, ` : "";
  if (v.defaults) {
    return workers +
      (s.probe ? `defaults + ${s.probe.name} probes ${probeText(s.probe)}` : "defaults");
  }
  const probe = s.probe
    ? `${s.probe.name} probes ${probeText(s.probe)}`
    : `probe ${probeText(TUNED_PROBE)}`;
  return `${workers}max_transactions=${s.maxTransactions}, ${probe}, ` +
    `failover ${s.failoverMs}ms`;
}
