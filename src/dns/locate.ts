/**
 * RFC 3263 §4: where a SIP URI's requests go. A numeric host, or a name with an explicit
 * port, is taken as written (a name is only looked up for its addresses); otherwise
 * NAPTR picks the transport (when the URI names none), SRV the hosts and ports in
 * priority and weight order (RFC 2782), and A/AAAA their addresses. The result is the
 * ordered list of targets to try, each one after the one before it failed, and how
 * long it holds: the lowest TTL among all the records it was built from (the negative
 * TTL of an empty answer when it found nothing).
 */
import { DEFAULT_SIP_PORT, DEFAULT_SIPS_PORT, isIpLiteral } from "../net/address.ts";
import type { Transport } from "../net/transport.ts";
import type { DnsQuerier, DnsResult } from "./client.ts";
import type { DnsRecord } from "./wire.ts";

export interface LocateRequest {
  host: string;
  /** null when the URI has no port: then SRV may choose one. */
  port: number | null;
  /** null when the URI has no transport parameter: then NAPTR may choose one. */
  transport: Transport | null;
  /** A sips: URI: TLS only. */
  secure: boolean;
}

export interface Target {
  transport: Transport;
  /** An IP address. */
  address: string;
  port: number;
  /** The host name the address belongs to (the SRV target, or the URI's host). */
  name: string;
  /**
   * The SRV record it came from (one object for all the addresses of that record), so
   * that a user of a cached result can draw the weighted order again for each request
   * (RFC 2782): the order in `targets` is one draw.
   */
  srv?: SrvRank;
}

/** An SRV record's place in the order: RFC 2782 priority and weight. */
export interface SrvRank {
  priority: number;
  weight: number;
}

export interface Located {
  /** In the order to try them; empty when the name resolves to nothing. */
  targets: Target[];
  /** Seconds the list holds. */
  ttl: number;
}

/** SRV records and addresses per name taken at most: a huge answer stays bounded. */
const MAX_SRV = 16;
const MAX_ADDRESSES = 8;

const NAPTR_SERVICES: Record<string, Transport> = {
  "sip+d2u": "udp",
  "sip+d2t": "tcp",
  "sips+d2t": "tls",
};
const SRV_PREFIX: Record<Transport, string> = {
  udp: "_sip._udp",
  tcp: "_sip._tcp",
  tls: "_sips._tcp",
};

export function defaultPort(transport: Transport): number {
  return transport === "tls" ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT;
}

/** Seconds a name the system resolver found (no TTL known) is kept. */
export const SYSTEM_LOOKUP_TTL = 60;

export class Locator {
  readonly #dns: DnsQuerier;
  readonly #random: () => number;
  /**
   * The system resolver, asked for a host's address when DNS has none: a name in
   * /etc/hosts (which the DNS servers do not see) keeps working.
   */
  systemLookup: ((host: string) => Promise<string>) | null = null;
  /** Transports vipless can send on (TLS only with a TLS listener configured). */
  supported: ReadonlySet<Transport>;

  constructor(dns: DnsQuerier, supported: Iterable<Transport>, random = Math.random) {
    this.#dns = dns;
    this.#random = random;
    this.supported = new Set(supported);
  }

  async locate(req: LocateRequest): Promise<Located> {
    // The records a result is built from set its lifetime; the empty answers on the
    // way (no NAPTR, no AAAA) only when nothing was found at all.
    const ttls: number[] = [];
    const negative: number[] = [];
    const ask = async (name: string, type: "A" | "AAAA" | "SRV" | "NAPTR") => {
      const r: DnsResult = await this.#dns.query(name, type);
      (r.records.length > 0 ? ttls : negative).push(r.ttl);
      return r.records;
    };
    const note = (ttl: number) => ttls.push(ttl);
    const done = (targets: Target[]): Located => {
      const from = targets.length > 0 && ttls.length > 0 ? ttls : [...ttls, ...negative];
      return { targets, ttl: from.length === 0 ? Infinity : Math.min(...from) };
    };
    const plain: Transport = req.secure ? "tls" : "udp";
    // §4.1: numeric host or explicit port: no NAPTR, no SRV.
    if (isIpLiteral(req.host)) {
      const transport = req.transport ?? (req.secure ? "tls" : "udp");
      const port = req.port ?? defaultPort(transport);
      return done([{ transport, address: req.host, port, name: req.host }]);
    }
    if (req.port !== null) {
      const transport = req.transport ?? plain;
      return done(await this.#addresses(req.host, transport, req.port, ask, note));
    }
    const wanted = [...this.supported].filter((t) => !req.secure || t === "tls");
    let srvNames: Array<{ transport: Transport; name: string }> = [];
    if (req.transport !== null) {
      srvNames = [{ transport: req.transport, name: `${SRV_PREFIX[req.transport]}.${req.host}` }];
    } else {
      srvNames = this.#fromNaptr(await ask(req.host, "NAPTR"), wanted);
      // No usable NAPTR: SRV for each transport we speak, in our order (§4.1).
      if (srvNames.length === 0) {
        srvNames = wanted.map((t) => ({ transport: t, name: `${SRV_PREFIX[t]}.${req.host}` }));
      }
    }
    for (const { transport, name } of srvNames) {
      const srv = (await ask(name, "SRV")).filter((r) => r.type === "SRV");
      if (srv.length === 0) continue;
      const targets: Target[] = [];
      for (const s of weightedOrder(srv.slice(0, MAX_SRV), this.#random)) {
        if (s.target === "" || s.target === ".") continue; // "." : no service here
        const rank: SrvRank = { priority: s.priority, weight: s.weight };
        for (const t of await this.#addresses(s.target, transport, s.port, ask, note)) {
          targets.push({ ...t, srv: rank });
        }
      }
      return done(targets);
    }
    // No SRV either: the host's own addresses, on the transport's default port (§4.2).
    const transport = req.transport ?? plain;
    return done(await this.#addresses(req.host, transport, defaultPort(transport), ask, note));
  }

  /** NAPTR records with a transport we speak and the "s" flag, in order, as SRV names. */
  #fromNaptr(records: DnsRecord[], wanted: Transport[]) {
    const usable: Array<DnsRecord & { type: "NAPTR" }> = [];
    for (const r of records) {
      if (r.type !== "NAPTR" || r.flags.toLowerCase() !== "s" || r.replacement === "") continue;
      const t = NAPTR_SERVICES[r.service.toLowerCase()];
      if (t && wanted.includes(t)) usable.push(r);
    }
    usable.sort((a, b) => a.order - b.order || a.preference - b.preference);
    return usable.map((r) => ({
      transport: NAPTR_SERVICES[r.service.toLowerCase()]!,
      name: r.replacement,
    }));
  }

  async #addresses(
    name: string,
    transport: Transport,
    port: number,
    ask: (name: string, type: "A" | "AAAA") => Promise<DnsRecord[]>,
    foundBySystem: (ttl: number) => void,
  ): Promise<Target[]> {
    // One family failing (a server that mishandles AAAA) leaves the other.
    const got = await Promise.allSettled([ask(name, "A"), ask(name, "AAAA")]);
    const found = got.some((g) => g.status === "fulfilled" && g.value.length > 0);
    if (!found && this.systemLookup) {
      const address = await this.systemLookup(name).catch(() => null);
      if (address !== null) {
        foundBySystem(SYSTEM_LOOKUP_TTL);
        return [{ transport, address, port, name }];
      }
    }
    if (got.every((g) => g.status === "rejected")) throw (got[0] as PromiseRejectedResult).reason;
    const addresses: string[] = [];
    for (const r of got.flatMap((g) => g.status === "fulfilled" ? g.value : [])) {
      if ((r.type === "A" || r.type === "AAAA") && !addresses.includes(r.address)) {
        addresses.push(r.address);
      }
    }
    return addresses.slice(0, MAX_ADDRESSES).map((address) => ({ transport, address, port, name }));
  }
}

/** RFC 2782: by priority; within one, a weighted random draw, one record at a time. */
export function weightedOrder<T extends SrvRank>(records: readonly T[], random: () => number): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const same = byPriority.get(r.priority);
    if (same) same.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: T[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero weights first, as RFC 2782 says, so they have a small chance to be picked.
    const left = byPriority.get(priority)!.sort((a, b) => a.weight - b.weight);
    while (left.length > 0) {
      const total = left.reduce((n, r) => n + r.weight, 0);
      const draw = Math.floor(random() * (total + 1));
      let sum = 0;
      let i = left.findIndex((r) => (sum += r.weight) >= draw);
      if (i < 0) i = left.length - 1;
      out.push(left.splice(i, 1)[0]!);
    }
  }
  return out;
}
