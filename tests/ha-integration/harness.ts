/**
 * What the HA integration tests share: vipless as a process with a config of several
 * pairs whose members are FakeSipServers, its JSON log read as events, its HTTP
 * endpoints, and bounded waits. Every wait has a deadline, so a broken failover fails
 * the test with the log attached instead of hanging it.
 */
import { FakeSipServer } from "../support/fake-sip-server.ts";
import type { SocketAddress } from "../support/sip-peer.ts";
import { TestUa, type TestUaOptions } from "../support/test-ua.ts";
import { sleep } from "../support/wait.ts";
import {
  freePort,
  logEvents,
  type Proc,
  startVipless,
  tempDir,
} from "../support/vipless-process.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export { RUNTIME } from "../support/current-runtime.ts";

/** The settings the issue names; the failover tests reason about these numbers. */
export const PROBE = { intervalMs: 1000, timeoutMs: 300, failures: 2, forceIntervalMs: 500 };
export const FAILOVER_TIMEOUT_MS = 500;
/** Longest time from a member's death to its switchover: every probe of `failures` missed. */
export const DETECTION_BOUND_MS = Math.round(
  (PROBE.intervalMs * PROBE.failures + PROBE.timeoutMs) * 1.25,
);

/** Whom the tests call: vipless forwards it to the served pair's active member. */
export const CALLEE = "sip:bob@sip.example.com";

/** Per-test limit for node:test (Bun's default of 5 s is too short for a failover). */
export const TEST_TIMEOUT_MS = 60_000;

export interface PairPorts {
  name: string;
  primary: number;
  backup: number;
}

export interface ViplessSetup {
  pairs: PairPorts[];
  /** Default: the first pair. */
  serve?: string;
  /** Name of the admin token variable; default a test-only name. */
  tokenEnv?: string;
  /** Extra environment for the process (e.g. the admin token). */
  env?: Record<string, string>;
}

export function haConfigYaml(
  s: ViplessSetup & { sipPort: number; httpPort: number },
): string {
  const pairs = s.pairs.map((p) =>
    `  - name: ${p.name}\n` +
    `    primary: sip:127.0.0.1:${p.primary}\n` +
    `    backup: sip:127.0.0.1:${p.backup}\n`
  ).join("");
  return `listen: [udp://127.0.0.1:${s.sipPort}, tcp://127.0.0.1:${s.sipPort}]
advertise: 127.0.0.1:${s.sipPort}
serve: ${s.serve ?? s.pairs[0].name}
http:
  listen: 127.0.0.1:${s.httpPort}
  token_env: ${s.tokenEnv ?? "VIPLESS_HA_TEST_TOKEN"}
probe: { interval: ${PROBE.intervalMs}ms, timeout: ${PROBE.timeoutMs}ms, failures: ${PROBE.failures}, force_interval: ${PROBE.forceIntervalMs}ms }
failover: { timeout: ${FAILOVER_TIMEOUT_MS}ms }
pairs:
${pairs}log: { level: debug, format: json }
`;
}

/** One line of vipless's JSON log. */
export type LogEvent = Record<string, unknown> & { event?: string; "@timestamp": string };

export interface MemberStatus {
  uri: string;
  role: "primary" | "backup";
  active: boolean;
  status: "up" | "down" | "unknown";
}

export interface PairStatus {
  name: string;
  state: string;
  inService: boolean;
  active: string | null;
  activeRole: "primary" | "backup" | null;
  members: MemberStatus[];
  switchovers: Array<{ from: string | null; to: string | null; reason: string }>;
}

/** A running vipless, from source, under the runtime the test runs in. */
export class Vipless {
  private constructor(
    readonly proc: Proc,
    readonly sipPort: number,
    readonly httpPort: number,
  ) {}

  /** A vipless started with a config of the caller's own. */
  static attach(proc: Proc, sipPort: number, httpPort: number): Vipless {
    return new Vipless(proc, sipPort, httpPort);
  }

  static async start(setup: ViplessSetup): Promise<Vipless> {
    const sipPort = await freePort();
    const httpPort = await freePort("tcp");
    const path = join(tempDir(), "vipless.yaml");
    writeFileSync(path, haConfigYaml({ ...setup, sipPort, httpPort }));
    const proc = startVipless(["--config", path], setup.env);
    const v = new Vipless(proc, sipPort, httpPort);
    try {
      await proc.waitForOutput(/"event":"listener-opened","transport":"http"/, 20_000);
    } catch (e) {
      await v.stop();
      throw e;
    }
    return v;
  }

  /**
   * A vipless on a config whose head this writes (a UDP listener, with `tlsPort` also a
   * tls:// one; advertise; http; the test probe settings) and whose rest, `body` (pairs,
   * tls, dns, failover, log...), is the test's own. Resolves once it serves HTTP.
   */
  static async startWith(body: string, o: { tlsPort?: number; dir?: string } = {}) {
    const sipPort = await freePort();
    const httpPort = await freePort("tcp");
    const path = join(o.dir ?? tempDir(), "vipless.yaml");
    const tls = o.tlsPort === undefined ? "" : `, tls://127.0.0.1:${o.tlsPort}`;
    writeFileSync(
      path,
      `listen: [udp://127.0.0.1:${sipPort}${tls}]
advertise: 127.0.0.1:${sipPort}
http: { listen: "127.0.0.1:${httpPort}" }
probe: { interval: ${PROBE.intervalMs}ms, timeout: ${PROBE.timeoutMs}ms, failures: ${PROBE.failures}, force_interval: ${PROBE.forceIntervalMs}ms }
${body}`,
    );
    const proc = startVipless(["--config", path]);
    await proc.waitForOutput(/"event":"listener-opened","transport":"http"/, 20_000);
    return { vip: new Vipless(proc, sipPort, httpPort), path };
  }

  /** Where endpoints and members send SIP. */
  get sip(): SocketAddress {
    return { host: "127.0.0.1", port: this.sipPort };
  }

  /** The JSON log lines so far, parsed. */
  events(): LogEvent[] {
    return logEvents(this.proc.output()) as LogEvent[];
  }

  /** The first event at index `from` or later whose fields all equal `fields`. */
  async waitForEvent(
    fields: Record<string, unknown>,
    timeoutMs: number,
    from = 0,
  ): Promise<{ event: LogEvent; index: number; seenAt: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.events();
      for (let i = from; i < events.length; i++) {
        const e = events[i];
        if (Object.entries(fields).every(([k, v]) => e[k] === v)) {
          return { event: e, index: i, seenAt: Date.now() };
        }
      }
      if (Date.now() >= deadline || this.proc.child.exitCode !== null) {
        throw new Error(
          `no event ${JSON.stringify(fields)} within ${timeoutMs} ms; log:\n${this.proc.output()}`,
        );
      }
      await sleep(20);
    }
  }

  http(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.httpPort}${path}`, init);
  }

  async pair(name: string): Promise<PairStatus> {
    const body = await (await this.http("/status")).json() as { pairs: PairStatus[] };
    const p = body.pairs.find((x) => x.name === name);
    if (!p) throw new Error(`no pair ${name} in /status`);
    return p;
  }

  /** Waits until /status shows every member of every named pair up (probes answered). */
  async waitAllUp(pairs: string[], timeoutMs = 10_000): Promise<void> {
    await waitUntil(
      async () => {
        for (const name of pairs) {
          const p = await this.pair(name);
          if (!p.members.every((m) => m.status === "up")) return false;
        }
        return true;
      },
      timeoutMs,
      `every member of ${pairs.join(", ")} up`,
      () => this.proc.output(),
    );
  }

  stop(): Promise<void> {
    return this.proc.stop();
  }
}

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  context?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context?.() ?? ""}`);
    }
    await sleep(50);
  }
}

/** Fake SIP servers on fresh loopback ports (UDP), to serve as pair members. */
export async function startServers(names: string[]): Promise<FakeSipServer[]> {
  return await Promise.all(names.map((name) => FakeSipServer.start({ transport: "udp", name })));
}

export function pairOf(name: string, primary: FakeSipServer, backup: FakeSipServer): PairPorts {
  return { name, primary: primary.address.port, backup: backup.address.port };
}

/** `sip:127.0.0.1:PORT`, as the config names a member. */
export function memberUri(s: FakeSipServer): string {
  return `sip:127.0.0.1:${s.address.port}`;
}

/**
 * Runs `body` with cleanup that always happens: every started peer is stopped and
 * vipless killed, so a failed assertion never leaves sockets or processes behind.
 */
export class Cleanup {
  private readonly peers: Array<{ stop(): void }> = [];
  private vip: Vipless[] = [];

  peer<T extends { stop(): void }>(p: T): T {
    this.peers.push(p);
    return p;
  }

  peersOf<T extends { stop(): void }>(ps: T[]): T[] {
    for (const p of ps) this.peer(p);
    return ps;
  }

  vipless(v: Vipless): Vipless {
    this.vip.push(v);
    return v;
  }

  async run(): Promise<void> {
    for (const p of this.peers) p.stop();
    for (const v of this.vip) await v.stop();
  }
}

export interface SiteOptions {
  /** More for vipless than the pair (e.g. the admin token variable and environment). */
  vipless?: Omit<ViplessSetup, "pairs">;
  /** More for the UDP TestUa (e.g. its name). */
  ua?: Omit<TestUaOptions, "transport">;
}

/**
 * The common scene: site-a of FakeSipServers "primary" and "backup", vipless serving it
 * and a UDP TestUa, all stopped by `c`. Returns once every member of site-a is up.
 */
export async function siteA(c: Cleanup, o: SiteOptions = {}) {
  const [primary, backup] = c.peersOf(await startServers(["primary", "backup"]));
  const vip = c.vipless(
    await Vipless.start({ ...o.vipless, pairs: [pairOf("site-a", primary, backup)] }),
  );
  const ua = c.peer(await TestUa.start({ ...o.ua, transport: "udp" }));
  await vip.waitAllUp(["site-a"]);
  return { primary, backup, vip, ua };
}

export async function withCleanup(body: (c: Cleanup) => Promise<void>): Promise<void> {
  const c = new Cleanup();
  try {
    await body(c);
  } finally {
    await c.run();
  }
}
