/**
 * The proxies of the TLS bench (scripts/bench/tls.ts), each started fresh with a TLS
 * listener and a UDP listener in front of the same SIPp UAS pair (UDP), so every call
 * crosses TLS↔UDP: `vipless-defaults` is dist/vipless with the shipped defaults plus the
 * TLS keys and the addresses; `kamailio` is the UDP bench's Kamailio configuration
 * (scripts/bench/kamailio.cfg.ts) with the tls module and a TLS listener added. The
 * certificate is made by openssl for the run (a CA and a server certificate for
 * 127.0.0.1), as the tests make theirs.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dispatcherList, kamailioCfg } from "./kamailio.cfg.ts";
import {
  firstLine,
  KAMAILIO,
  kamailioModules,
  kamailioUnavailable,
  kamailioVersion,
} from "./kamailio-bin.ts";
import { Child, sleep } from "./proxy/children.ts";
import { EventLog, viplessEvent } from "./proxy/ha-events.ts";
import { processTree } from "./proxy/procfs.ts";
import { HOST, waitSip } from "./proxy/sipp.ts";
import { DIST_BIN } from "./proxy/targets.ts";
import { makeCerts } from "../../tests/support/certs.ts";

export interface TlsPorts {
  sip: number;
  tls: number;
  http: number;
  primary: number;
  backup: number;
}

export interface BenchCerts {
  caPath: string;
  ca: string;
  certPath: string;
  keyPath: string;
}

export interface RunningTlsProxy {
  child: Child;
  pids(): number[];
}

export interface TlsTarget {
  id: "vipless-defaults" | "kamailio";
  title: string;
  /** What it runs with, for the table. */
  config: string;
  unavailable(): string | undefined;
  version(): string;
  start(p: TlsPorts, dir: string, certs: BenchCerts): Promise<RunningTlsProxy>;
}

/**
 * A CA and a server certificate for 127.0.0.1 signed by it: the tests' certificates
 * (tests/support/certs.ts), in a directory of their own.
 */
export function makeBenchCerts(): BenchCerts {
  const c = makeCerts();
  return { caPath: c.caPath, ca: c.ca, certPath: c.server.certPath, keyPath: c.server.keyPath };
}

/** /ready, and both members' member-up in the log: the load must not meet a switchover. */
async function viplessReady(child: Child, events: EventLog, p: TlsPorts): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  const up = (port: number) =>
    events.events.some((e) => e.type === "member-up" && e.member?.endsWith(`:${port}`));
  while (Date.now() < deadline && child.running) {
    try {
      const res = await fetch(`http://${HOST}:${p.http}/ready`);
      await res.body?.cancel();
      if (res.status === 200 && up(p.primary) && up(p.backup)) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return false;
}

const vipless: TlsTarget = {
  id: "vipless-defaults",
  title: "vipless (dist/vipless, Bun, defaults + TLS)",
  config: "defaults; listen udp + tls, tls.cert/key",
  unavailable: () => existsSync(DIST_BIN) ? undefined : "dist/vipless missing (bun build.ts)",
  version: () => `vipless ${firstLine(DIST_BIN, ["--version"]).replace(/^vipless /, "")}`,
  async start(p, dir, certs) {
    const config = join(dir, `vipless-${p.tls}.yaml`);
    writeFileSync(
      config,
      [
        `listen: [udp://${HOST}:${p.sip}, tls://${HOST}:${p.tls}]`,
        `advertise: ${HOST}:${p.sip}`,
        "serve: bench",
        `http: { listen: "${HOST}:${p.http}" }`,
        `tls: { cert: ${certs.certPath}, key: ${certs.keyPath} }`,
        "pairs:",
        "  - name: bench",
        `    primary: sip:${HOST}:${p.primary}`,
        `    backup: sip:${HOST}:${p.backup}`,
        "log: { level: info, format: json }",
        "",
      ].join("\n"),
    );
    const child = new Child(`vipless-${p.tls}`, DIST_BIN, ["--config", config], dir);
    const events = new EventLog(child, viplessEvent);
    if (!(await viplessReady(child, events, p))) {
      await child.stop();
      throw new Error(`vipless not ready: ${child.tail}`);
    }
    return { child, pids: () => processTree(child.pid) };
  },
};

const KAMAILIO_CHILDREN = 4;

/**
 * The UDP bench's configuration with TLS: TCP enabled for the tls module, a TLS
 * listener beside the UDP one (Record-Route is doubled across them by rr's default
 * enable_double_rr), the same children for TCP/TLS as for UDP.
 */
export function kamailioTlsCfg(base: string, p: TlsPorts, tlsCfg: string): string {
  const withTls = base
    .replace(
      "disable_tcp=yes\n",
      `enable_tls=yes\ntcp_children=${KAMAILIO_CHILDREN}\nlisten=tls:${HOST}:${p.tls}\n` +
        `alias="${HOST}:${p.tls}"\n`,
    )
    .replace(
      'loadmodule "kex.so"\n',
      `loadmodule "kex.so"\nloadmodule "tls.so"\nmodparam("tls", "config", "${tlsCfg}")\n`,
    );
  if (!withTls.includes("enable_tls=yes") || !withTls.includes('"tls.so"')) {
    throw new Error("scripts/bench/kamailio.cfg.ts changed: the TLS edits no longer apply");
  }
  return withTls;
}

const kamailio: TlsTarget = {
  id: "kamailio",
  title: "Kamailio (tm, rr, dispatcher alg 8, tls)",
  config: `${KAMAILIO_CHILDREN} children + ${KAMAILIO_CHILDREN} tcp_children, -m 1024, ` +
    "fr_timer 1000ms, ds ping 1s/2, tls module",
  unavailable: () => kamailioUnavailable(["tls"]),
  version: kamailioVersion,
  async start(p, dir, certs) {
    const opts = {
      port: p.sip,
      primaryPort: p.primary,
      backupPort: p.backup,
      dispatcherList: join(dir, `kamailio-${p.tls}.list`),
      modulePath: kamailioModules(),
      failoverTimeoutMs: 1000,
      host: HOST,
    };
    const tlsCfg = join(dir, `kamailio-${p.tls}-tls.cfg`);
    writeFileSync(
      tlsCfg,
      `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n` +
        `private_key = ${certs.keyPath}\ncertificate = ${certs.certPath}\n\n` +
        `[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\n` +
        `require_certificate = no\n`,
    );
    const cfg = join(dir, `kamailio-${p.tls}.cfg`);
    writeFileSync(opts.dispatcherList, dispatcherList(opts));
    writeFileSync(cfg, kamailioTlsCfg(kamailioCfg(opts), p, tlsCfg));
    const child = new Child(`kamailio-${p.tls}`, KAMAILIO, [
      "-DD",
      "-E",
      "-f",
      cfg,
      "-m",
      "1024",
      "-M",
      "16",
      "-n",
      String(KAMAILIO_CHILDREN),
      "-Y",
      dir,
      "-w",
      dir,
    ], dir);
    if (!(await waitSip(p.sip, 10_000, child))) {
      await child.stop();
      throw new Error(`kamailio did not answer OPTIONS on ${p.sip}: ${child.tail}`);
    }
    // Its dispatcher probes the members every second: both up before the load.
    await sleep(2500);
    return { child, pids: () => processTree(child.pid) };
  },
};

export const TLS_TARGETS: Record<TlsTarget["id"], TlsTarget> = {
  "vipless-defaults": vipless,
  kamailio,
};
