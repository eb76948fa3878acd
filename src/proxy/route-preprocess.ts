/**
 * RFC 3261 §16.4 Route information preprocessing, as a pure reading of the request:
 * what the routing sees and what the forwarded copy must change.
 */
import { parseUri, type SipMessage, type SipUri } from "../sip/index.ts";
import type { SelfAddresses } from "./self.ts";

export interface PreprocessedRoutes {
  /** The Request-URI routing decides on (after the strict-router fix-up). */
  requestUri: SipUri;
  /** Non-null when the previous hop was a strict router: the Request-URI to write. */
  newRequestUri: string | null;
  /** The first Route entry that is not ours. */
  topRoute: SipUri | null;
  /** How many of our own entries lead the Route set (two after a double Record-Route). */
  popRoutes: number;
}

/**
 * A Request-URI of ours means the previous hop was a strict router, so the real
 * Request-URI is the last Route entry; then our own entries on top of the Route set are
 * removed. Throws SipParseError on a malformed Route or Request-URI.
 */
export function preprocessRoutes(req: SipMessage, self: SelfAddresses): PreprocessedRoutes {
  let requestUri = req.uri;
  let newRequestUri: string | null = null;
  let routes = req.routes;
  if (self.isSelf(requestUri) && routes.length > 0) {
    const last = routes[routes.length - 1]!;
    newRequestUri = last.uri;
    requestUri = parseUri(last.uri);
    routes = routes.slice(0, -1); // the editor removes it as a whole header rewrite
  }
  let popRoutes = 0;
  while (popRoutes < routes.length && self.isSelf(parseUri(routes[popRoutes]!.uri))) {
    popRoutes++;
  }
  const top = routes[popRoutes];
  return { requestUri, newRequestUri, topRoute: top ? parseUri(top.uri) : null, popRoutes };
}

/** A header value holding one URI, bracketed or not (X-Genesys-Route); null if absent. */
export function parseOptionalUri(v: string | null): SipUri | null {
  if (v === null) return null;
  const s = v.trim();
  const inner = s.startsWith("<") ? s.slice(1, s.indexOf(">")) : s;
  return parseUri(inner);
}
