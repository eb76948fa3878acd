// URI parsing for sip:, sips: and tel: (RFC 3261 §19.1, RFC 3966, RFC 5118 for IPv6);
// any other scheme is kept as an opaque absolute URI.

import {
  DEFAULT_SIP_PORT,
  DEFAULT_SIPS_PORT,
  formatHostPort,
  isIpv6,
  normaliseUriHost,
  parseIpv4,
} from "../net/address.ts";
import { malformed } from "./errors.ts";
import { isHostAt } from "./host.ts";
import { digitsEnd, lowerSlice, portNumber } from "./lists.ts";

/** A parsed URI. Text fields are %-unescaped; `raw` is the URI exactly as received. */
export interface SipUri {
  /** Lowercase scheme: "sip", "sips", "tel" or another (opaque) scheme. */
  scheme: string;
  /** User part (sip/sips) or the telephone number (tel); null when absent. */
  user: string | null;
  password: string | null;
  /** Host as written (IPv6 keeps its brackets), lowercase; "" for tel and opaque URIs. */
  host: string;
  port: number | null;
  /** URI parameters, lowercase names, unescaped; null value for a bare name. */
  params: Map<string, string | null>;
  /** URI headers (`?name=value&...`), unescaped. */
  headers: Map<string, string>;
  raw: string;
}

/** Undoes %HH escapes; a `%` not followed by two hex digits is kept literally. */
export function unescapeUri(s: string): string {
  if (s.indexOf("%") === -1) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Scheme of a URI string in lowercase, or null when it has none. */
export function uriScheme(s: string): string | null {
  // ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  const c0 = s.charCodeAt(0) | 0x20;
  if (c0 < 0x61 || c0 > 0x7a) return null;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) {
      if (i === 3 && s.startsWith("sip")) return "sip";
      return lowerSlice(s, 0, i);
    }
    const l = c | 0x20;
    if (
      !((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d ||
        c === 0x2e)
    ) return null;
  }
  return null;
}

/**
 * Parses a URI. Throws SipParseError (400) when a sip/sips/tel URI is malformed or the
 * string has no scheme.
 */
export function parseUri(raw: string): SipUri {
  const scheme = uriScheme(raw);
  if (scheme === null) throw malformed(`URI without scheme: ${raw.slice(0, 40)}`);
  const rest = raw.slice(scheme.length + 1);
  const uri: SipUri = {
    scheme,
    user: null,
    password: null,
    host: "",
    port: null,
    params: new Map(),
    headers: new Map(),
    raw,
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    // A URI is ASCII (RFC 3986 §2, RFC 3261 §25.1): other octets must be %-escaped.
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      throw malformed("URI holds whitespace, control characters, non-ASCII, quotes or <>");
    }
  }
  if (scheme === "sip" || scheme === "sips") parseSipRest(rest, uri);
  else if (scheme === "tel") parseTelRest(rest, uri);
  return uri;
}

function parseSipRest(rest: string, uri: SipUri): void {
  // '@' is legal only in the userinfo, which may itself hold ';', '?' and '/'.
  let i = 0;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    if (user === "") throw malformed("empty user part before @");
    uri.user = unescapeUri(user);
    if (colon >= 0) uri.password = unescapeUri(userinfo.slice(colon + 1));
    i = at + 1;
  }
  const n = rest.length;
  let hostEnd: number;
  if (rest.charCodeAt(i) === 0x5b) {
    hostEnd = rest.indexOf("]", i);
    if (hostEnd < 0) throw malformed("unterminated IPv6 reference");
    hostEnd++;
    if (!isIpv6(rest.slice(i + 1, hostEnd - 1))) throw malformed("bad IPv6 reference");
  } else {
    hostEnd = i;
    while (hostEnd < n) {
      const c = rest.charCodeAt(hostEnd);
      if (c === 0x3a || c === 0x3b || c === 0x3f) break;
      hostEnd++;
    }
  }
  uri.host = lowerSlice(rest, i, hostEnd);
  if (rest.charCodeAt(i) !== 0x5b && !isHostAt(uri.host, 0, uri.host.length)) {
    throw malformed("bad host in URI");
  }
  i = hostEnd;
  if (rest.charCodeAt(i) === 0x3a) {
    const digits = i + 1;
    i = digitsEnd(rest, digits, n);
    uri.port = portNumber(rest, digits, i, "");
  }
  const q = rest.indexOf("?", i);
  const paramEnd = q >= 0 ? q : n;
  if (i < paramEnd && rest.charCodeAt(i) !== 0x3b) throw malformed("junk after host in URI");
  parseUriParams(rest, i, paramEnd, uri.params);
  if (q >= 0) {
    for (const h of rest.slice(q + 1).split("&")) {
      if (h === "") continue;
      const eq = h.indexOf("=");
      const name = unescapeUri(eq >= 0 ? h.slice(0, eq) : h);
      uri.headers.set(name, unescapeUri(eq >= 0 ? h.slice(eq + 1) : ""));
    }
  }
}

function parseTelRest(rest: string, uri: SipUri): void {
  const semi = rest.indexOf(";");
  const number = semi >= 0 ? rest.slice(0, semi) : rest;
  if (number === "" || !/^(\+[0-9().-]*[0-9][0-9().-]*|[0-9A-Fa-f*#().pPwW-]+)$/.test(number)) {
    throw malformed("bad telephone number in tel URI");
  }
  uri.user = number;
  if (semi >= 0) parseUriParams(rest, semi, rest.length, uri.params);
}

/**
 * `;a=b;c` in s[a, b) (s[a] is the ';') -> params, unescaped, lowercase names. Empty
 * parameters and names are rejected.
 */
function parseUriParams(s: string, a: number, b: number, into: Map<string, string | null>): void {
  if (a >= b) return;
  for (let i = a + 1;;) {
    let e = s.indexOf(";", i);
    if (e < 0 || e > b) e = b;
    if (e === i) throw malformed("empty URI parameter");
    let eq = s.indexOf("=", i);
    if (eq > e) eq = -1;
    const name = uriParamName(s, i, eq >= 0 ? eq : e);
    if (name === "") throw malformed("empty URI parameter name");
    into.set(name, eq >= 0 ? unescapeUri(s.slice(eq + 1, e)) : null);
    if (e === b) return;
    i = e + 1;
  }
}

/** Common URI parameter names, returned as shared strings (Map keys hash once). */
const COMMON_URI_PARAMS = ["lr", "user", "transport", "maddr", "ttl", "method", "r2"];

/** Unescaped lowercase name of s[a, b). */
function uriParamName(s: string, a: number, b: number): string {
  for (let k = 0; k < COMMON_URI_PARAMS.length; k++) {
    const p = COMMON_URI_PARAMS[k];
    if (p.length === b - a && s.startsWith(p, a)) return p;
  }
  const raw = s.slice(a, b);
  return raw.indexOf("%") === -1 ? lowerSlice(s, a, b) : unescapeUri(raw).toLowerCase();
}

/** The host as URIs compare it: sip's name for net's normaliseUriHost. */
export { normaliseUriHost as normalizeHost } from "../net/address.ts";

/**
 * A key that identifies a host and port for tables of peers: normalised host plus the
 * port, with null meaning the default port (5060, or 5061 when `secure`).
 */
export function hostPortKey(host: string, port: number | null, secure = false): string {
  return formatHostPort(
    normaliseUriHost(host),
    port ?? (secure ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT),
  );
}

/**
 * Transport to reach a URI per RFC 3261 §18 / RFC 3263 defaults: the `transport`
 * parameter (lowercase) when present, "tls" for sips:, else "udp".
 */
export function uriTransport(uri: SipUri): string {
  const t = uri.params.get("transport");
  if (t) return t.toLowerCase();
  return uri.scheme === "sips" ? "tls" : "udp";
}

/**
 * The cheap cases of isBroadcastOrMulticast, without normalising or splitting: for a host
 * made of digits and dots (one trailing dot allowed, as normalizeHost drops it) the first
 * octet of a valid dotted quad, 256 for 255.255.255.255, -1 for anything else; -2 when
 * the host holds a bracket or colon (an IPv6 literal: the general path decides). A host
 * with any other character is no IPv4 literal: -1. Octets with leading zeros count, more
 * leniently than net's isIpv4: a guard should also refuse what a laxer resolver might
 * still read as an address.
 */
function dottedQuadFirst(host: string): number {
  let n = host.length;
  for (let i = 0; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c === 0x3a || c === 0x5b || c === 0x5d) return -2;
  }
  if (n > 0 && host.charCodeAt(n - 1) === 0x2e) n--;
  let parts = 0, first = -1, all255 = true, i = 0;
  while (parts < 4) {
    let v = 0, d = 0;
    while (i < n && d <= 3) {
      const c = host.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      d++;
      i++;
    }
    if (d === 0 || d > 3 || v > 255) return -1;
    if (parts === 0) first = v;
    if (v !== 255) all255 = false;
    parts++;
    if (parts < 4) {
      if (host.charCodeAt(i) !== 0x2e || i >= n) return -1;
      i++;
    }
  }
  if (i !== n) return -1;
  return all255 ? 256 : first;
}

/** True for IPv4/IPv6 literals that must never be sent to: broadcast or multicast. */
export function isBroadcastOrMulticast(host: string): boolean {
  const quad = dottedQuadFirst(host);
  if (quad !== -2) return (quad >= 224 && quad <= 239) || quad === 256;
  const h = normaliseUriHost(host);
  if (h.startsWith("[")) return h.startsWith("[ff");
  // Only a bracketed IPv4 text ("[224.0.0.1]") gets here.
  const v4 = parseIpv4(h);
  if (v4 === null) return false;
  return (v4 >= 0xe0000000 && v4 < 0xf0000000) || v4 === 0xffffffff;
}
