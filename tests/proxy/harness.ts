/**
 * Drives a real ProxyCore with a fake clock and no sockets: a Router over a real
 * PairRegistry, an output that records every message the core sends (parsed with src/sip
 * so that tests assert on headers), and hooks that record what the core reports.
 *
 * Addresses used throughout:
 * * vipless advertises `vipless.test` (no port) and listens on 192.0.2.10:5060;
 * * the UAC (an endpoint, not a pair member) sends from 192.0.2.1:5062 over UDP;
 * * site-a is a UDP pair (10.0.0.11 / 10.0.0.12), site-b a TCP pair (10.1.0.11 / .12).
 */
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import type { HaEvent, HaMemberSpec, HaPairSpec } from "../../src/ha/types.ts";
import type { OverloadReason, ProxyHooks } from "../../src/proxy/hooks.ts";
import type { OcChange } from "../../src/proxy/overload-control.ts";
import type { Located } from "../../src/dns/locate.ts";
import type { TargetQuery } from "../../src/proxy/outbound-targets.ts";
import { ProxyCore } from "../../src/proxy/proxy-core.ts";
import { Router } from "../../src/proxy/router.ts";
import type { Dest, DropReason, ProxySettings, Source } from "../../src/proxy/types.ts";
import { parseMessage, type SipMessage } from "../../src/sip/index.ts";
import { config, SITE_A, SITE_B, T0 } from "../support/ha-fixtures.ts";
import { seededRandom } from "../support/random.ts";

export const ADVERTISE = "vipless.test";
export const T1 = 500;
/** Timer B / Timer F: 64 × T1. */
export const TIMER_B = 64 * T1;

// The pair fixtures are the HA tests' too (one definition of site-a and site-b).
export { member, SITE_A, SITE_B } from "../support/ha-fixtures.ts";

export const UAC: Source = { transport: "udp", host: "192.0.2.1", port: 5062 };
export const PRIMARY: Source = { transport: "udp", host: "10.0.0.11", port: 5060 };
export const BACKUP: Source = { transport: "udp", host: "10.0.0.12", port: 5060 };
export const B_PRIMARY: Source = { transport: "tcp", host: "10.1.0.11", port: 5060 };
export const B_BACKUP: Source = { transport: "tcp", host: "10.1.0.12", port: 5060 };

export interface Sent {
  dest: Dest;
  msg: SipMessage;
  text: string;
  at: number;
}

export interface HarnessOptions {
  serve?: string;
  settings?: Partial<ProxySettings>;
  /** Proxy clock at start (ms). */
  start?: number;
}

export class Harness {
  /** The proxy's clock; only `advance`/`advanceTo` move it. */
  now: number;
  /** The pair registry's clock; only `probe` moves it, so probing never fires proxy timers. */
  haNow = T0;
  readonly ha: PairRegistry;
  readonly router: Router;
  readonly core: ProxyCore;
  readonly serve: string;
  /** Everything the core sent, in order. */
  readonly sent: Sent[] = [];
  readonly drops: DropReason[] = [];
  readonly localResponses: number[] = [];
  readonly forwardFailures: Array<{ host: string; port: number; why: string }> = [];
  readonly haEvents: HaEvent[] = [];
  /** Every request shed because a bound was reached, by reason. */
  readonly overloads: OverloadReason[] = [];
  /** What the core's `saturated` hook answers (vipless's measured loop lag). */
  saturated = false;
  /** What the core's `busy` hook answers (the main thread's busy share), null: unknown. */
  busy: number | null = null;
  /** What members' RFC 7339 oc answers did, in order. */
  readonly ocChanges: Array<{ member: string; change: OcChange }> = [];
  /** Every RFC 3263 lookup the core asked for; `located` answers one. */
  readonly lookups: Array<{ query: TargetQuery; key: string }> = [];
  #taken = 0;

  constructor(options: HarnessOptions = {}) {
    this.now = options.start ?? 1_000;
    this.serve = options.serve ?? "site-a";
    // Seeded, so that probe jitter and our instance id are the same on every run.
    this.ha = new PairRegistry(config({}, [SITE_A, SITE_B]), {
      now: this.haNow,
      random: seededRandom(7),
      onEvent: (e) => this.haEvents.push(e),
    });
    this.router = new Router(this.ha, this.serve, seededRandom(5));
    const settings: ProxySettings = {
      advertiseHost: ADVERTISE,
      advertisePort: null,
      localAddresses: [{ host: "192.0.2.10", port: 5060 }],
      failoverTimeoutMs: 1000,
      t1Ms: T1,
      maxTransactions: 1000,
      maxMessageBytes: 65_535,
      userAgent: "vipless-test",
      maxInviteRate: 0,
      ...options.settings,
    };
    const hooks: ProxyHooks = {
      onDrop: (reason) => this.drops.push(reason),
      onLocalResponse: (status) => this.localResponses.push(status),
      // As sip-core wires them: the sender as the transport saw it (senderOf).
      onRequestFrom: (sender, method) => this.ha.onRequestFrom(sender, method, this.haNow),
      isMember: (sender) => this.ha.identify(sender) !== null,
      onForwardFailure: (m, why) => {
        this.forwardFailures.push({ host: m.host, port: m.port, why });
        this.ha.onForwardFailure(m, this.haNow);
      },
      servedPairReady: () => this.ha.isInService(this.serve),
      onOverload: (reason) => this.overloads.push(reason),
      saturated: () => this.saturated,
      busy: () => this.busy,
      onMemberOverloadControl: (m, change) =>
        this.ocChanges.push({ member: `${m.host}:${m.port}`, change }),
    };
    this.core = new ProxyCore(
      settings,
      this.router,
      {
        send: (bytes, dest) => {
          const text = new TextDecoder().decode(bytes);
          this.sent.push({ dest, msg: parseMessage(bytes), text, at: this.now });
        },
        locate: (query, key) => this.lookups.push({ query, key }),
      },
      hooks,
      seededRandom(11),
    );
  }

  /** Feeds one message from `src` at the current time; returns what the core sent. */
  receive(message: string | Uint8Array, src: Source = UAC): Sent[] {
    const bytes = typeof message === "string" ? new TextEncoder().encode(message) : message;
    this.core.onMessage(bytes, src, this.now);
    return this.take();
  }

  /** Reports a failed send to `dest` at the current time; returns what the core sent. */
  sendError(dest: Source): Sent[] {
    this.core.onSendError(
      { transport: dest.transport, host: dest.host, port: dest.port },
      this.now,
    );
    return this.take();
  }

  /** Ends the lookup of `key` (as the glue does when the DNS answers); returns what was sent. */
  located(key: string, found: Located | Error): Sent[] {
    this.core.onLocated(key, found, this.now);
    return this.take();
  }

  /** Runs every core deadline up to `until` (inclusive), as the glue's timer would. */
  advanceTo(until: number): Sent[] {
    for (let step = 0; step < 10_000; step++) {
      const at = this.core.nextDeadline();
      if (at === undefined || at > until) break;
      this.now = Math.max(this.now, at);
      this.core.tick(this.now);
    }
    this.now = Math.max(this.now, until);
    return this.take();
  }

  advance(ms: number): Sent[] {
    return this.advanceTo(this.now + ms);
  }

  /**
   * Saturated for long enough that the early shedding refuses every new INVITE: its
   * share rises 10 points per 250 ms step in which a request finds vipless saturated
   * (proxy/call-admission.ts), so ten steps, each with a request vipless answers
   * itself (an OPTIONS with Max-Forwards 0). Returns nothing of what was sent.
   */
  saturate(): void {
    this.saturated = true;
    for (let i = 0; i < 10; i++) {
      this.receive(request("OPTIONS", { maxForwards: 0 }));
      this.advance(250);
    }
  }

  /** What was sent since the last `take` (or receive/advance). */
  take(): Sent[] {
    const out = this.sent.slice(this.#taken);
    this.#taken = this.sent.length;
    return out;
  }

  /**
   * Plays the prober on the HA clock: every due probe to a member in `dead` fails at
   * the transport, every other one is answered 200, until `done()` or 30 s pass.
   */
  probe(dead: ReadonlyArray<HaMemberSpec>, done: () => boolean): void {
    const deadUris = new Set(dead.map((m) => m.uri));
    const end = this.haNow + 30_000;
    for (let step = 0; step < 10_000 && !done() && this.haNow <= end; step++) {
      for (const p of this.ha.probesDue(this.haNow).probes) {
        if (deadUris.has(p.member.uri)) this.ha.probeTransportError(p.dest, this.haNow);
        else this.ha.probeAnswer(p.branch, 200, p.dest, this.haNow);
      }
      this.haNow = Math.max(this.haNow + 1, Math.min(this.ha.nextProbeDeadline(), end));
    }
    if (!done()) throw new Error("HA state did not reach the expected condition");
  }

  /** Probes until every member of every pair has answered (health "up"). */
  allUp(): void {
    this.probe(
      [],
      () =>
        this.ha.snapshot(this.haNow).pairs.every((p) => p.members.every((m) => m.status === "up")),
    );
  }

  /** Makes a pair out of service (both members down). */
  pairOutOfService(pair: HaPairSpec): void {
    this.probe([pair.primary, pair.backup], () => !this.ha.isInService(pair.name));
  }

  /** Marks one member down while the other stays up (the pair then has a single hop). */
  memberDown(m: HaMemberSpec, pair: HaPairSpec): void {
    this.probe([m], () => this.ha.nextHops(pair.name).length === 1);
  }
}

/** Only the messages sent to this address. */
export function to(sent: Sent[], where: { host: string; port: number }): Sent[] {
  return sent.filter((s) => s.dest.host === where.host && s.dest.port === where.port);
}

/** Only the requests of a method. */
export function requests(sent: Sent[], method: string): Sent[] {
  return sent.filter((s) => s.msg.isRequest && s.msg.method === method);
}

/** Only the responses (optionally of a status). */
export function responses(sent: Sent[], status?: number): Sent[] {
  return sent.filter((s) => !s.msg.isRequest && (status === undefined || s.msg.status === status));
}

/** The single message of a list, failing clearly otherwise. */
export function one(sent: Sent[], what = "message"): Sent {
  if (sent.length !== 1) {
    throw new Error(
      `expected exactly one ${what}, got ${sent.length}:\n${
        sent.map((s) => s.text.split("\r\n")[0]).join("\n")
      }`,
    );
  }
  return sent[0]!;
}

let seq = 0;

export interface RequestOptions {
  uri?: string;
  /** Via values, top first; by default one UDP Via from the UAC with a fresh branch. */
  vias?: string[];
  branch?: string;
  callId?: string;
  cseq?: number;
  fromTag?: string;
  /** A To tag makes the request in-dialog. */
  toTag?: string;
  /** null leaves Max-Forwards out. */
  maxForwards?: number | null;
  routes?: string[];
  headers?: Array<[string, string]>;
  body?: string;
}

/** A request as text; every call gets its own branch, Call-ID and From tag. */
export function request(method: string, o: RequestOptions = {}): string {
  const n = ++seq;
  const vias = o.vias ?? [
    `SIP/2.0/UDP uac.example.com:5062;branch=${o.branch ?? `z9hG4bK-uac-${n}`};rport`,
  ];
  const lines = [`${method} ${o.uri ?? "sip:bob@example.com"} SIP/2.0`];
  for (const v of vias) lines.push(`Via: ${v}`);
  if (o.maxForwards !== null) lines.push(`Max-Forwards: ${o.maxForwards ?? 70}`);
  for (const r of o.routes ?? []) lines.push(`Route: ${r}`);
  lines.push(`From: <sip:alice@example.com>;tag=${o.fromTag ?? `from-${n}`}`);
  lines.push(`To: <sip:bob@example.com>${o.toTag ? `;tag=${o.toTag}` : ""}`);
  lines.push(`Call-ID: ${o.callId ?? `call-${n}@uac.example.com`}`);
  lines.push(`CSeq: ${o.cseq ?? 1} ${method}`);
  lines.push("Contact: <sip:alice@192.0.2.1:5062>");
  for (const [k, v] of o.headers ?? []) lines.push(`${k}: ${v}`);
  const body = o.body ?? "";
  lines.push(`Content-Length: ${new TextEncoder().encode(body).byteLength}`);
  return lines.join("\r\n") + "\r\n\r\n" + body;
}

/**
 * A request that follows up on `invite` (CANCEL, ACK for a non-2xx): same Via (and so
 * the same branch), Call-ID, From, CSeq number; To as given.
 */
export function followUp(invite: string, method: string, toTag?: string): string {
  const m = parseMessage(new TextEncoder().encode(invite));
  const lines = [`${method} ${m.requestUri} SIP/2.0`];
  for (const v of m.headerValues("Via")) lines.push(`Via: ${v}`);
  lines.push("Max-Forwards: 70");
  for (const r of m.headerValues("Route")) lines.push(`Route: ${r}`);
  lines.push(`From: ${m.header("From")}`);
  lines.push(`To: ${m.header("To")}${toTag ? `;tag=${toTag}` : ""}`);
  lines.push(`Call-ID: ${m.callId}`);
  lines.push(`CSeq: ${m.cseq!.seq} ${method}`);
  lines.push("Content-Length: 0");
  return lines.join("\r\n") + "\r\n\r\n";
}

/** A response to a request the core forwarded: its Vias, From, To (+ tag), Call-ID, CSeq. */
export function answer(
  req: SipMessage,
  status: number,
  o: { toTag?: string; headers?: Array<[string, string]>; reason?: string } = {},
): string {
  const lines = [`SIP/2.0 ${status} ${o.reason ?? "Reason"}`];
  for (const v of req.headerValues("Via")) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.header("From")}`);
  const tag = status > 100 && req.to?.tag == null ? `;tag=${o.toTag ?? "uas-1"}` : "";
  lines.push(`To: ${req.header("To")}${tag}`);
  lines.push(`Call-ID: ${req.callId}`);
  lines.push(`CSeq: ${req.cseq!.seq} ${req.cseq!.method}`);
  for (const [k, v] of o.headers ?? []) lines.push(`${k}: ${v}`);
  lines.push("Content-Length: 0");
  return lines.join("\r\n") + "\r\n\r\n";
}

/** Where a message went, as host and port (for one deepEqual). */
export function hostPort(s: Sent): { host: string; port: number } {
  return { host: s.dest.host, port: s.dest.port };
}

/** The branch of a message's top Via. */
export function branchOf(s: Sent): string {
  return s.msg.topVia?.branch ?? "";
}

/** "host:port start-line" per message, for readable assertions. */
export function summary(sent: Sent[]): string[] {
  return sent.map((s) =>
    `${s.dest.host}:${s.dest.port} ${s.text.slice(0, s.text.indexOf("\r\n"))}`
  );
}
