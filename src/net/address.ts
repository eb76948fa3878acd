// Host and address text, in one place for every layer: IP literal recognition, the
// RFC 5952 form of IPv6, host normalisation and "host:port" formatting. A leaf module
// (it imports nothing), so sip, config, ha, transport and runtime can all use it.
//
// IP literals are recognised in their standard form only, as `node:net` isIP does: a
// dotted quad of decimal octets 0-255 without leading zeros, and IPv6 per RFC 4291 §2.2
// (optionally ending in such a quad). Anything else ("0x10.0.0.1", "010.0.0.1") is not
// an address here, whatever inet_aton would make of it.

export const DEFAULT_SIP_PORT = 5060;
/** Default port of sips: URIs and TLS (RFC 3261 §19.1.2). */
export const DEFAULT_SIPS_PORT = 5061;

const COLON = 0x3a;
const DOT = 0x2e;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/**
 * The dotted quad s[a, b) as an unsigned 32-bit number, or -1 when it is not one in
 * standard form. Allocation-free: it runs on every outbound send.
 */
function ipv4At(s: string, a: number, b: number): number {
  let value = 0, i = a;
  for (let part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= b || s.charCodeAt(i) !== DOT) return -1;
      i++;
    }
    const start = i;
    let octet = 0;
    while (i < b && i - start < 3) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      octet = octet * 10 + d;
      i++;
    }
    const len = i - start;
    if (len === 0 || octet > 255 || (len > 1 && s.charCodeAt(start) === 0x30)) return -1;
    value = value * 256 + octet;
  }
  return i === b ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/**
 * Scans the IPv6 literal s[a, b) (no brackets, no zone). With `out` it also writes the
 * 8 groups there; without, it only validates and allocates nothing.
 */
function scanIpv6(s: string, a: number, b: number, out: number[] | null): boolean {
  // The longest form is "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
  if (b - a < 2 || b - a > 45) return false;
  let count = 0; // groups written so far (an embedded quad counts two)
  let gap = -1; // where "::" stands, as a group index
  let i = a;
  if (s.charCodeAt(i) === COLON) {
    if (s.charCodeAt(i + 1) !== COLON) return false;
    gap = 0;
    i += 2;
  }
  while (i < b) {
    let v = 0, j = i;
    while (j < b) {
      const h = hexDigit(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < b && s.charCodeAt(j) === DOT) {
      // Embedded IPv4 (RFC 4291 §2.2 form 3): the last two groups.
      const v4 = count <= 6 ? ipv4At(s, i, b) : -1;
      if (v4 < 0) return false;
      out?.push(v4 >>> 16, v4 & 0xffff);
      count += 2;
      break;
    }
    if (j === i || j - i > 4) return false;
    out?.push(v);
    count++;
    if (j === b) break;
    if (s.charCodeAt(j) !== COLON) return false;
    j++;
    if (j < b && s.charCodeAt(j) === COLON) {
      if (gap >= 0) return false;
      gap = count;
      j++;
    } else if (j === b) return false;
    i = j;
  }
  // "::" stands for one group at least.
  if (gap < 0 ? count !== 8 : count > 7) return false;
  if (out !== null && gap >= 0) out.splice(gap, 0, ...new Array<number>(8 - count).fill(0));
  return true;
}

/** True for an IPv4 literal in standard form: "10.0.0.1", not "010.0.0.1" or "1.2.3". */
export function isIpv4(text: string): boolean {
  return ipv4At(text, 0, text.length) >= 0;
}

/** An IPv4 literal as an unsigned 32-bit number, or null. */
export function parseIpv4(text: string): number | null {
  const v = ipv4At(text, 0, text.length);
  return v < 0 ? null : v;
}

/** True for an IPv6 literal without brackets or zone (RFC 4291 §2.2). */
export function isIpv6(text: string): boolean {
  return scanIpv6(text, 0, text.length, null);
}

/** The 8 groups of an IPv6 literal without brackets or zone, or null. */
export function parseIpv6(text: string): number[] | null {
  const groups: number[] = [];
  return scanIpv6(text, 0, text.length, groups) ? groups : null;
}

/**
 * True for an IP address as a socket takes it: IPv4, or IPv6 with an optional "%zone"
 * (as `node:net` isIP). No brackets.
 */
export function isIpLiteral(host: string): boolean {
  if (ipv4At(host, 0, host.length) >= 0) return true;
  const zoneAt = host.indexOf("%");
  if (zoneAt < 0) return scanIpv6(host, 0, host.length, null);
  return zoneAt < host.length - 1 && scanIpv6(host, 0, zoneAt, null);
}

/** RFC 5952 text of 8 IPv6 groups: lower case, no leading zeros, longest zero run (2+) as "::". */
export function formatIpv6(groups: readonly number[]): string {
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

/** Runtimes and URIs write IPv6 with or without brackets; vipless keeps hosts without. */
export function stripBrackets(host: string): string {
  return host.charCodeAt(0) === OPEN && host.charCodeAt(host.length - 1) === CLOSE
    ? host.slice(1, -1)
    : host;
}

function dropTrailingDot(host: string): string {
  return host.charCodeAt(host.length - 1) === DOT ? host.slice(0, -1) : host;
}

/**
 * The host as an address table keys it, so that a source address a socket reports
 * ("::ffff:10.0.0.11", "[2001:DB8::1]") finds the member the config names ("10.0.0.11",
 * "2001:db8::1"): lower case, brackets stripped, IPv6 in RFC 5952 form (a zone kept),
 * IPv4-mapped IPv6 as plain IPv4, and the trailing dot of a fully qualified name dropped.
 * Text that is no IPv6 literal but holds a colon is returned lower-cased, unbracketed.
 */
export function normaliseHost(host: string): string {
  const h = stripBrackets(host.trim().toLowerCase());
  if (h.indexOf(":") < 0) return dropTrailingDot(h);
  const zoneAt = h.indexOf("%");
  const groups = parseIpv6(zoneAt >= 0 ? h.slice(0, zoneAt) : h);
  if (groups === null) return h;
  const mapped = groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
    groups[4] === 0 && groups[5] === 0xffff;
  if (mapped && zoneAt < 0) {
    return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  return zoneAt >= 0 ? formatIpv6(groups) + h.slice(zoneAt) : formatIpv6(groups);
}

/**
 * The host as a SIP URI compares it (RFC 3261 §19.1.4, RFC 5118): lower case, the
 * trailing dot dropped, IPv6 in RFC 5952 form inside brackets, so that `[::1]` and
 * `0:0:0:0:0:0:0:1` compare equal. IPv4-mapped IPv6 stays IPv6 (RFC 5118 §4.9): a URI
 * naming it is not the same URI as one naming the IPv4 address.
 */
export function normaliseUriHost(host: string): string {
  const h = stripBrackets(host.toLowerCase());
  if (h.indexOf(":") < 0) return dropTrailingDot(h);
  const groups = parseIpv6(h);
  return `[${groups === null ? h : formatIpv6(groups)}]`;
}

/** A host as a URI or "host:port" writes it: brackets around IPv6 (once). */
export function hostForUri(host: string): string {
  return host.indexOf(":") >= 0 && host.charCodeAt(0) !== OPEN ? `[${host}]` : host;
}

/** "host:port", "[v6]:port", or the host alone when the port is null. */
export function formatHostPort(host: string, port: number | null): string {
  return port === null ? hostForUri(host) : `${hostForUri(host)}:${port}`;
}

/** Key of a transport address in a table: normalised host and port (default 5060). */
export function addressKey(host: string, port: number | null | undefined): string {
  return `${normaliseHost(host)}|${port ?? DEFAULT_SIP_PORT}`;
}
