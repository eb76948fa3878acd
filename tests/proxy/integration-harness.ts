/**
 * One vipless process between a TestUa and a pair of FakeSipServers, for the proxy
 * integration tests: the servers start first (so their ports go into the config),
 * vipless starts from source under the runtime running the test, and `start()` returns
 * once `/ready` says 200. `stop()` ends the process and every peer.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeSipServer, type FakeSipServerOptions } from "../support/fake-sip-server.ts";
import { TestUa } from "../support/test-ua.ts";
import type { SocketAddress, Transport } from "../support/sip-peer.ts";
import {
  freePort,
  logEvents as eventsIn,
  type Proc,
  startVipless,
  tempDir,
} from "../support/vipless-process.ts";
import { sleep } from "../support/wait.ts";

export { RUNTIME } from "../support/current-runtime.ts";

/** A bound for every single wait on a message or a call in these tests. */
export const WAIT_MS = 3000;

export type ServerOptions = Omit<FakeSipServerOptions, "transport" | "port">;

export interface RigOptions {
  /** Transport of the pair members (their URIs carry `;transport=tcp` for tcp). */
  members: Transport;
  /** Transport the caller uses to reach vipless (default: the members'). */
  caller?: Transport;
  primary?: ServerOptions;
  backup?: ServerOptions;
  /** Also run a TCP server on the primary's UDP port (a server listening on both). */
  primaryAlsoTcp?: ServerOptions;
  /** Extra top-level YAML (e.g. `sip: { t1: 200ms }`). */
  extraYaml?: string;
}

export interface Rig {
  proc: Proc;
  ua: TestUa;
  primary: FakeSipServer;
  backup: FakeSipServer;
  /** The TCP side of the primary when `primaryAlsoTcp` was asked for. */
  primaryTcp?: FakeSipServer;
  /** Where vipless takes SIP (UDP and TCP on the same port). */
  proxy: SocketAddress;
  sipPort: number;
  httpPort: number;
  /** A callee URI; its user part tells the fake servers how to answer (see the tests). */
  target(user: string): string;
  /** The body of GET /metrics. */
  metrics(): Promise<string>;
  /** The value of one metric line (labels written as in the exposition), 0 when absent. */
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

function memberUri(port: number, t: Transport): string {
  return `sip:127.0.0.1:${port}${t === "tcp" ? ";transport=tcp" : ""}`;
}

function yaml(
  sipPort: number,
  httpPort: number,
  primary: string,
  backup: string,
  extra: string,
): string {
  return `listen: [udp://127.0.0.1:${sipPort}, tcp://127.0.0.1:${sipPort}]
advertise: 127.0.0.1:${sipPort}
serve: site-a
http:
  listen: 127.0.0.1:${httpPort}
  token_env: VIPLESS_TEST_TOKEN
probe: { interval: 1s, timeout: 300ms, failures: 2, force_interval: 500ms }
failover: { timeout: 500ms }
pairs:
  - name: site-a
    primary: ${primary}
    backup: ${backup}
log: { level: debug, format: json }
${extra}
`;
}

/** Starts a server on a fixed port (the caller retries when the port was taken meanwhile). */
async function serverOn(
  transport: Transport,
  port: number,
  o: ServerOptions,
): Promise<FakeSipServer> {
  return await FakeSipServer.start({ name: "server", ...o, transport, port });
}

/** A UDP and a TCP server on one port: a member that listens on both transports. */
async function dualServers(
  udp: ServerOptions,
  tcp: ServerOptions,
): Promise<[FakeSipServer, FakeSipServer]> {
  let last: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await freePort("both");
    let u: FakeSipServer | undefined;
    try {
      u = await serverOn("udp", port, udp);
      const t = await serverOn("tcp", port, tcp);
      return [u, t];
    } catch (e) {
      last = e;
      u?.stop();
    }
  }
  throw last;
}

async function waitReady(httpPort: number, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1000; i++) {
    if (proc.child.exitCode !== null) {
      throw new Error(`vipless exited before /ready; output:\n${proc.output()}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/ready`, {
        signal: AbortSignal.timeout(1000),
      });
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`/ready not 200 within ${timeoutMs} ms; output:\n${proc.output()}`);
    }
    await sleep(50);
  }
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const members = o.members;
  let primary: FakeSipServer;
  let primaryTcp: FakeSipServer | undefined;
  if (o.primaryAlsoTcp) {
    [primary, primaryTcp] = await dualServers(
      { name: "primary", ...o.primary },
      { name: "primary", ...o.primaryAlsoTcp },
    );
  } else {
    primary = await FakeSipServer.start({ name: "primary", ...o.primary, transport: members });
  }
  const backup = await FakeSipServer.start({ name: "backup", ...o.backup, transport: members });
  const ua = await TestUa.start({ transport: o.caller ?? members });
  const sipPort = await freePort("both");
  const httpPort = await freePort("tcp");
  const path = join(tempDir(), "vipless.yaml");
  writeFileSync(
    path,
    yaml(
      sipPort,
      httpPort,
      memberUri(primary.address.port, members),
      memberUri(backup.address.port, members),
      o.extraYaml ?? "",
    ),
  );
  const proc = startVipless(["--config", path]);
  const stopPeers = () => {
    ua.stop();
    primary.stop();
    primaryTcp?.stop();
    backup.stop();
  };
  try {
    await waitReady(httpPort, proc, 20000);
  } catch (e) {
    stopPeers();
    await proc.stop();
    throw e;
  }
  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, {
      signal: AbortSignal.timeout(WAIT_MS),
    });
    return await res.text();
  };
  return {
    proc,
    ua,
    primary,
    backup,
    primaryTcp,
    proxy: { host: "127.0.0.1", port: sipPort },
    sipPort,
    httpPort,
    target: (user) => `sip:${user}@127.0.0.1:${sipPort}`,
    metrics,
    async metric(name) {
      const text = await metrics();
      const line = text.split("\n").find((l) => l.startsWith(name + " "));
      return line ? Number(line.slice(name.length + 1)) : 0;
    },
    async stop() {
      stopPeers();
      await proc.stop();
    },
  };
}

/** The JSON log events vipless wrote so far. */
export function logEvents(proc: Proc): Array<Record<string, unknown>> {
  return eventsIn(proc.output());
}
