/** Where responses go, and who sent a request (RFC 3261 §18.2.2, RFC 3581). */
import { stripBrackets } from "../net/address.ts";
import type { SipMessage, Via } from "../sip/index.ts";
import type { Dest, Source } from "./types.ts";

function viaTransport(t: string): "udp" | "tcp" {
  return t === "tcp" ? "tcp" : "udp";
}

/** Where the responses to a request go (RFC 3261 §18.2.2 with RFC 3581 rport). */
export function upstreamDest(via: Via, src: Source): Dest {
  if (src.transport !== "udp") {
    return { transport: src.transport, host: src.host, port: src.port, conn: src.conn };
  }
  return sharedUdpDest(src.host, via.rport !== null ? src.port : (via.port ?? 5060));
}

/**
 * UDP response destinations, one object per peer rather than per request: a server
 * transaction keeps its Dest while it lingers (32 s), and a proxy's requests come from
 * few peers (the members, the carriers and SBCs in front). Saves an object and a string
 * per lingering server transaction (issue 10). A Dest is never changed once made. Peers
 * come from the network, so the cache is bounded: past the bound it starts over.
 */
const MAX_SHARED_DESTS = 4096;
const udpDests = new Map<string, Map<number, Dest>>();
let sharedDests = 0;

function sharedUdpDest(host: string, port: number): Dest {
  let byPort = udpDests.get(host);
  let dest = byPort?.get(port);
  if (dest !== undefined) return dest;
  if (sharedDests >= MAX_SHARED_DESTS) {
    udpDests.clear();
    sharedDests = 0;
    byPort = undefined;
  }
  if (byPort === undefined) udpDests.set(host, byPort = new Map());
  dest = { transport: "udp", host, port };
  byPort.set(port, dest);
  sharedDests++;
  return dest;
}

/** Where a response goes after our Via is removed: the next Via (stateless §16.11 case). */
export function nextViaDest(via: Via): Dest {
  const host = stripBrackets(via.received ?? via.host);
  const port = typeof via.rport === "number" ? via.rport : (via.port ?? 5060);
  return { transport: viaTransport(via.transport.toLowerCase()), host, port };
}

/** Who sent a request, as the transport tells it, with what its top Via claims. */
export interface Sender extends Source {
  /** True when it came on a TCP connection vipless opened to host:port. */
  outbound: boolean;
  /**
   * The top Via's sent-by: the sender's say-so, which anyone can write. It never makes a
   * sender a member; it only lets a stream from an IP several members share count as
   * from "a member host" (see src/ha/member-index.ts).
   */
  claimed: { host: string; port: number } | null;
}

/**
 * The sender of a request as its transport tells it. Pair membership is decided from
 * this (the registry's `identify`); over a stream the source port is an ephemeral one
 * (RFC 3261 §18.1.1), so the registry goes by the connection vipless opened or by the
 * peer's IP there, never by the port a Via names.
 */
export function senderOf(req: SipMessage, src: Source & { outbound?: boolean }): Sender {
  const via = req.topVia;
  return {
    transport: src.transport,
    host: src.host,
    port: src.port,
    outbound: src.outbound === true,
    claimed: via ? { host: stripBrackets(via.host), port: via.port ?? 5060 } : null,
  };
}

/**
 * Whether a response matched to one of our branches has somewhere to go once our Via is
 * removed (RFC 3261 §16.7 step 3): with none left it was meant for vipless, which only
 * the answer to a CANCEL of ours is (it carries our Via alone). Any other would be
 * relayed with no Via at all.
 */
export function hasUpstreamVia(res: SipMessage): boolean {
  return res.vias.length >= 2 || res.cseq?.method === "CANCEL";
}
