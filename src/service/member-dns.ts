/**
 * The glue between the members named by DNS name and the rest of the service: the RFC
 * 3263 lookups (dns/member-targets.ts over dns/client.ts) on the configured or the
 * system's DNS servers; the registry told where each such member now is (address and
 * port), so its messages are known as its own; the router's and the probes' destination
 * for it (its current target); failures moved on to its next target; and what /status
 * and /metrics show. A name that resolves to nothing is logged when it starts to and
 * when it resolves again; its probes miss at once, so it counts as down meanwhile. The
 * same Locator finds the outbound targets named without a port (locateTarget), for the
 * proxy core, which keeps their results and tries them in turn (proxy/outbound-targets.ts).
 */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/index.ts";
import { DnsClient, resolvConfServers } from "../dns/client.ts";
import { type Located, type LocateRequest, Locator } from "../dns/locate.ts";
import {
  type MemberDnsStatus,
  MemberTargets,
  type NamedMemberSpec,
} from "../dns/member-targets.ts";
import type { HaMemberSpec, PairSnapshot, ProbeDest } from "../ha/index.ts";
import type { Runtime, SocketAddress } from "../runtime/types.ts";
import type { Endpoint } from "../transport/types.ts";

export type { MemberDnsStatus } from "../dns/member-targets.ts";

function named(config: Config): NamedMemberSpec[] {
  return config.pairs.flatMap((p) =>
    (["primary", "backup"] as const).map((role) => ({ pair: p.name, role, ...p[role] }))
  );
}

function serversOf(rt: Runtime, config: Config): SocketAddress[] {
  if (config.dns.servers) return config.dns.servers;
  try {
    return resolvConfServers(rt.readTextFile("/etc/resolv.conf"));
  } catch {
    return resolvConfServers("");
  }
}

export class MemberDns {
  readonly #rt: Runtime;
  readonly #log: Logger;
  #client: DnsClient;
  #targets: MemberTargets;
  #servers: string;
  #locator!: Locator;
  readonly #learn: (host: string, address: string, port: number) => void;
  /** Per member (host|port as configured): the target its latest probe went to. */
  readonly #probedAt = new Map<string, { address: string; port: number }>();

  constructor(
    rt: Runtime,
    config: Config,
    log: Logger,
    learn: (host: string, address: string, port: number) => void,
  ) {
    this.#rt = rt;
    this.#log = log;
    this.#learn = learn;
    this.#client = new DnsClient(rt, { servers: serversOf(rt, config) });
    this.#servers = this.#client.servers.join(",");
    this.#targets = this.#make(this.#client);
    this.#targets.configure(named(config));
  }

  #make(client: DnsClient): MemberTargets {
    const locator = new Locator(client, ["udp", "tcp", "tls"]);
    // A host DNS does not know may be in /etc/hosts: the system resolver is asked then.
    locator.systemLookup = (host) => this.#rt.lookup(host);
    this.#locator = locator;
    return new MemberTargets(locator, {
      onChange: (m, target) => {
        if (target) {
          this.#learn(m.host, target.address, target.port);
          this.#log.info("member {pair}/{role} {name} is at {target}", {
            event: "member-located",
            pair: m.pair,
            role: m.role,
            name: m.host,
            target: `${target.transport}:${target.address}:${target.port}`,
          });
        } else {
          const st = this.#targets.status().find((s) => s.name === m.host);
          this.#log.warn("member {pair}/{role} {name} resolves to nothing: {error}", {
            event: "member-unresolved",
            pair: m.pair,
            role: m.role,
            name: m.host,
            error: st?.error ?? "no target",
          });
        }
      },
    });
  }

  /** A reload: new members, and new DNS servers if `dns.servers` changed. */
  reconfigure(config: Config): void {
    const servers = serversOf(this.#rt, config);
    const text = servers.map((s) => `${s.host}:${s.port}`).join(",");
    if (text !== this.#servers.replace(/\[|\]/g, "")) {
      this.#client.close();
      this.#client = new DnsClient(this.#rt, { servers });
      this.#servers = this.#client.servers.join(",");
      this.#targets = this.#make(this.#client);
    }
    this.#targets.configure(named(config));
  }

  /** Starts the lookups that are due; call on every wake-up of the service timer. */
  refresh(now: number): void {
    this.#targets.refresh(now);
  }

  /** The router's destination for a member: its current target (undefined: as configured). */
  locate(m: HaMemberSpec): Endpoint | undefined {
    const t = this.#targets.target(m.host, m.port);
    if (!t) return undefined;
    return { transport: t.transport, host: t.address, port: t.port, serverName: m.host };
  }

  /**
   * Where a probe of this member goes: its current target; `null` when it is named by
   * DNS and resolves to nothing (the probe then misses at once); undefined: as configured.
   */
  probeDest(m: HaMemberSpec): Endpoint | null | undefined {
    const resolved = this.#targets.resolved(m.host, m.port);
    if (resolved === false) return null;
    const dest = this.locate(m);
    if (dest) this.#probedAt.set(`${m.host}|${m.port}`, { address: dest.host, port: dest.port });
    return dest;
  }

  /**
   * Where an outbound target named without a port goes (RFC 3263 §4: NAPTR when no
   * transport is given, SRV, A/AAAA), on the same DNS servers and cache as the members.
   */
  locateTarget(query: LocateRequest): Promise<Located> {
    return this.#locator.locate(query);
  }

  /** The configured destination of the named member whose current target `to` is, if any. */
  memberDestOf(to: Endpoint): ProbeDest | null {
    const m = this.#targets.memberAt(to.host, to.port);
    return m && { transport: m.transport, host: m.host, port: m.port };
  }

  /** A request to this member timed out, failed at the transport or got a 503. */
  failed(member: { host: string; port: number }, now: number): void {
    this.#targets.failed(member.host, member.port, now);
  }

  /**
   * The member was found down by its probes: the target they went to (the last one a
   * probe was sent to) failed, which is not always the current one any more.
   */
  probesFailed(member: { host: string; port: number }, now: number): void {
    const at = this.#probedAt.get(`${member.host}|${member.port}`);
    this.#targets.failed(member.host, member.port, now, at);
  }

  status(): MemberDnsStatus[] {
    return this.#targets.status();
  }

  /** The registry's snapshot with each named member's `dns` (name, targets, current, error). */
  withDns(pairs: PairSnapshot[]): PairSnapshot[] {
    const byMember = new Map(this.status().map((s) => [`${s.pair}\u0000${s.role}`, s]));
    return pairs.map((p) => ({
      ...p,
      members: p.members.map((m) => {
        const s = byMember.get(`${p.name}\u0000${m.role}`);
        if (!s) return m;
        const { name, targets, current, error } = s;
        return { ...m, dns: { name, targets, current, error } };
      }),
    }));
  }

  close(): void {
    this.#client.close();
  }
}
