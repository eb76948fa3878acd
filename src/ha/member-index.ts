// Which pair member listens where, and who a message came from. Rebuilt from scratch
// on every (re)configuration and whenever a member's name resolves to a new address;
// the registry asks it who sent a request, who answered a probe and who a failed
// forward went to.
//
// Identity rests on the transport only, never on what a message says about itself
// (its Via): the source address of a datagram; over a stream, the connection vipless
// opened to a member, or else the peer's IP when that IP is exactly one member's. The
// port of a connection a member opened is ephemeral (RFC 3261 §18.1.1), so it names no
// one. Where several members share an IP, such a connection is from "a member host" but
// from no member in particular, and only when its Via claims one of those members: an
// endpoint on that host (its Via names itself) stays an endpoint. The claim can narrow
// what the transport allows, never widen it.

import { addressKey, normaliseHost } from "./address.ts";
import type { HaMemberSpec } from "./types.ts";

/** Where a message came from, as the transport saw it. */
export interface TransportSender {
  /** "udp", or a stream transport ("tcp"). */
  transport: string;
  host: string;
  port: number;
  /** True when it came on a stream vipless opened to host:port. */
  outbound?: boolean;
  /** What the message says its sender is (a request's top Via sent-by); a claim only. */
  claimed?: { host: string; port: number } | null;
}

/**
 * Who a sender is: a member, or (`member: null`) someone on a member's IP over a
 * stream that names no single member. `null` as a whole: no member at all.
 */
export interface SenderIdentity<T> {
  member: T | null;
}

export class MemberIndex<T extends { spec: HaMemberSpec }> {
  readonly #byAddress = new Map<string, T>();
  readonly #byHost = new Map<string, T[]>();

  /**
   * `addresses`: the address each member host that is a name resolved to, by that name;
   * `ports`: the port it resolved to where DNS (SRV) chose another than the spec's.
   */
  constructor(
    members: Iterable<T>,
    addresses: ReadonlyMap<string, string> = new Map(),
    ports: ReadonlyMap<string, number> = new Map(),
  ) {
    const all = [...members];
    // The config refuses two members on one address; should one slip through (or two
    // names resolve alike), the first keeps it rather than a later one silently taking
    // its traffic. Configured spellings go first, resolved addresses after them.
    for (const m of all) this.#add(m, m.spec.host);
    for (const m of all) {
      const address = addresses.get(m.spec.host);
      if (address !== undefined) this.#add(m, address, ports.get(m.spec.host));
    }
  }

  #add(m: T, host: string, port = m.spec.port): void {
    const address = addressKey(host, port);
    if (!this.#byAddress.has(address)) this.#byAddress.set(address, m);
    const key = normaliseHost(host);
    const onHost = this.#byHost.get(key) ?? [];
    if (!onHost.includes(m)) this.#byHost.set(key, [...onHost, m]);
  }

  /** The member listening at exactly this host and port (port defaults to 5060). */
  at(host: string, port?: number | null): T | null {
    return this.#byAddress.get(addressKey(host, port)) ?? null;
  }

  /** Who sent a message, by its transport alone (see the file comment). */
  identify(s: TransportSender): SenderIdentity<T> | null {
    const exact = this.at(s.host, s.port);
    // A datagram's source is the member's own socket; any other port is no member.
    if (s.transport === "udp") return exact ? { member: exact } : null;
    if (s.outbound && exact) return { member: exact };
    const onHost = this.#byHost.get(normaliseHost(s.host));
    if (!onHost) return null;
    if (onHost.length === 1) return { member: onHost[0]! };
    const claimed = s.claimed ? this.at(s.claimed.host, s.claimed.port) : null;
    return claimed && onHost.includes(claimed) ? { member: null } : null;
  }

  /**
   * True when a message from `s` may be `m`'s: over UDP from its address; over a stream
   * from its address on a connection vipless opened, else from its host (the member
   * may answer on a connection of its own, RFC 3261 §18.2.2).
   */
  couldBe(m: T, s: TransportSender): boolean {
    if (s.transport === "udp" || s.outbound) return this.at(s.host, s.port) === m;
    return this.#byHost.get(normaliseHost(s.host))?.includes(m) ?? false;
  }
}
