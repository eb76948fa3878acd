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
  return {
    transport: "udp",
    host: src.host,
    port: via.rport !== null ? src.port : (via.port ?? 5060),
  };
}

/** Where a response goes after our Via is removed: the next Via (stateless §16.11 case). */
export function nextViaDest(via: Via): Dest {
  const host = stripBrackets(via.received ?? via.host);
  const port = typeof via.rport === "number" ? via.rport : (via.port ?? 5060);
  return { transport: viaTransport(via.transport.toLowerCase()), host, port };
}

/**
 * The sender as a pair member is known: over a stream its source port is an ephemeral
 * one (a server opens a new connection for its own requests, RFC 3261 §18.1.1), so the
 * port of the top Via stands for it when the Via names the source's own host. Without
 * this, a member sharing its host with another member is taken for an endpoint.
 */
export function senderOf(req: SipMessage, src: Source): Source {
  if (src.transport === "udp") return src;
  const via = req.topVia;
  if (via === null) return src;
  const host = stripBrackets(via.host).toLowerCase();
  if (host !== src.host.toLowerCase()) return src;
  return { ...src, port: via.port ?? 5060 };
}
