/**
 * Where a request goes, as an ordered list of next hops (the routing rules of the README,
 * "What vipless does"; the product contract names them "Routing").
 *
 * * From an endpoint or gateway (not a pair member): initial requests go to the served
 *   pair; in-dialog requests whose target (top Route, else Request-URI) names a member
 *   of any pair go to that pair's active member. Everything else also goes to the
 *   served pair: a request from outside is only ever forwarded to a pair (no open relay).
 * * From a pair member: X-Genesys-Route (then removed), the Route set, a Request-URI
 *   naming a member of a pair (inter-site), otherwise the Request-URI itself.
 *
 * A target that names a member of a pair always means "that pair's active member",
 * whichever member it names: that is what carries a dialog across a failover.
 *
 * A plain URI target goes where its host says: a numeric host or a port given is one
 * hop, as written; a name without a port is located per RFC 3263 §4 (NAPTR, SRV,
 * A/AAAA: outbound-targets.ts), and each of its targets is a next hop, tried in order
 * when the one before it times out, fails at the transport or answers 503. Until the
 * name's targets are known the decision is `locate`: the core parks the request.
 *
 * A request that starts a dialog (no To tag; not ACK or CANCEL, which belong to an
 * INVITE) skips pair members in maintenance (ha/maintenance.ts), and while the instance
 * drains before it stops, it is answered 503 with Retry-After, so that the caller tries
 * another instance; requests inside dialogs are routed as always.
 */
import type { HaMemberSpec, PairRegistry } from "../ha/index.ts";
import { isIpLiteral, stripBrackets } from "../net/address.ts";
import { normalizeHost, type SipUri, uriTransport } from "../sip/index.ts";
import type { Target } from "../dns/locate.ts";
import { queryKey, TargetCache, targetDests, type TargetQuery } from "./outbound-targets.ts";
import type { Dest, Source } from "./types.ts";

export interface Hop {
  dest: Dest;
  /** The pair member this hop is, for failure reports to the HA state. */
  member: { host: string; port: number } | null;
}

export interface RoutingInput {
  method: string;
  /** True when the request has a To tag. */
  inDialog: boolean;
  requestUri: SipUri;
  /** The first Route entry that is not ours, after Route preprocessing. */
  topRoute: SipUri | null;
  xGenesysRoute: SipUri | null;
  source: Source;
}

export type RouteDecision =
  | {
    kind: "forward";
    hops: Hop[];
    /** The pair the hops belong to, or null for a plain URI target. */
    pair: string | null;
    /** Remove the X-Genesys-Route header before forwarding. */
    consumedXGenesysRoute: boolean;
  }
  /** The pair has no active member: answer 503 with Retry-After. */
  | { kind: "out-of-service"; pair: string }
  /** A name whose RFC 3263 targets are not known yet: look it up, then `located`. */
  | { kind: "locate"; query: TargetQuery; key: string; consumedXGenesysRoute: boolean }
  | { kind: "reject"; status: number; reason: string };

function memberDest(m: HaMemberSpec): Dest {
  return { transport: m.transport, host: m.host, port: m.port };
}

export class Router {
  /** Set once on SIGTERM: new dialogs are refused from then on. */
  draining = false;
  /**
   * Where a member named by DNS name is now (RFC 3263: the target its name resolved
   * to, dns/member-targets.ts); undefined leaves the member's own host and port.
   */
  locate: ((m: HaMemberSpec) => Dest | undefined) | null = null;

  /** The targets of the names located so far (RFC 3263), on the core's clock. */
  readonly targets: TargetCache;

  constructor(
    readonly ha: PairRegistry,
    public servedPair: string,
    random: () => number = Math.random,
  ) {
    this.targets = new TargetCache(random);
  }

  /** The ordered hops of a pair, or out-of-service (`newDialog`: no member in maintenance). */
  pairHops(pair: string, newDialog = false): RouteDecision {
    const members = this.ha.nextHops(pair, newDialog);
    if (members.length === 0) return { kind: "out-of-service", pair };
    return {
      kind: "forward",
      pair,
      consumedXGenesysRoute: false,
      hops: members.map((m) => ({
        dest: this.locate?.(m) ?? memberDest(m),
        member: { host: m.host, port: m.port },
      })),
    };
  }

  /** The pair a URI names one of the members of, or null. */
  pairOf(uri: SipUri): string | null {
    if (uri.scheme !== "sip" && uri.scheme !== "sips") return null;
    return this.ha.memberAt(stripBrackets(normalizeHost(uri.host)), uri.port)?.pair ??
      null;
  }

  /** `now`: the core's clock, for the located names' TTLs. */
  route(input: RoutingInput, fromMember: boolean, now: number): RouteDecision {
    const method = input.method;
    const newDialog = !input.inDialog && method !== "ACK" && method !== "CANCEL";
    if (newDialog && this.draining) return { kind: "out-of-service", pair: this.servedPair };
    if (!fromMember) {
      const target = input.topRoute ?? input.requestUri;
      const pair = input.inDialog ? this.pairOf(target) : null;
      return this.pairHops(pair ?? this.servedPair, newDialog);
    }
    if (input.xGenesysRoute) {
      const d = this.#toUri(input.xGenesysRoute, newDialog, now);
      return d.kind === "forward" || d.kind === "locate"
        ? { ...d, consumedXGenesysRoute: true }
        : d;
    }
    if (input.topRoute) return this.#toUri(input.topRoute, newDialog, now);
    return this.#toUri(input.requestUri, newDialog, now);
  }

  /**
   * The decision for a name once its targets are known: one hop per target, or 404
   * when it resolves to nothing (no NAPTR, SRV or address records: the domain has no
   * SIP server to reach, definitively, for the negative TTL).
   */
  located(query: TargetQuery, targets: readonly Target[], consumed: boolean): RouteDecision {
    if (targets.length === 0) {
      return { kind: "reject", status: 404, reason: "Not Found (no DNS target)" };
    }
    return {
      kind: "forward",
      pair: null,
      consumedXGenesysRoute: consumed,
      hops: targetDests(targets, query).map((dest) => ({ dest, member: null })),
    };
  }

  /** A URI target: a pair member means that pair; anything else the URI's own host. */
  #toUri(uri: SipUri, newDialog: boolean, now: number): RouteDecision {
    const pair = this.pairOf(uri);
    if (pair !== null) return this.pairHops(pair, newDialog);
    if (uri.scheme !== "sip" && uri.scheme !== "sips") {
      return { kind: "reject", status: 416, reason: "Unsupported URI Scheme" };
    }
    const transport = uriTransport(uri);
    if (transport !== "udp" && transport !== "tcp" && transport !== "tls") {
      return { kind: "reject", status: 502, reason: `Transport ${transport} Not Supported` };
    }
    const maddr = uri.params.get("maddr");
    // RFC 3263 §4: maddr, when present, is the host the request goes to.
    const host = stripBrackets(maddr ?? uri.host);
    if (uri.port !== null || isIpLiteral(host)) {
      // §4.1, §4.2: numeric, or a port given: no NAPTR, no SRV; one hop as written.
      return {
        kind: "forward",
        pair: null,
        consumedXGenesysRoute: false,
        hops: [{
          dest: { transport, host, port: uri.port ?? (transport === "tls" ? 5061 : 5060) },
          member: null,
        }],
      };
    }
    const query: TargetQuery = {
      host,
      port: null,
      transport: uri.params.get("transport") ? transport : null,
      secure: uri.scheme === "sips",
    };
    const key = queryKey(query);
    const known = this.targets.get(key, now);
    if (known !== undefined) return this.located(query, known, false);
    return { kind: "locate", query, key, consumedXGenesysRoute: false };
  }
}
