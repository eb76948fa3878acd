// Hosts as RFC 3261 §25.1 writes them (hostname / IPv4address / IPv6reference), for the
// Via sent-by, `received` and `maddr` and for sip: URIs. IP literals are recognised in
// their standard form only (src/net/address.ts): whatever inet_aton would still make of
// "0x10.0.0.1", "010.0.0.1", "10.1" or "167772161" is refused here, so that no receiver
// (nor our own resolver) reads an address the text does not plainly say.

import { isIpv4, isIpv6 } from "../net/address.ts";

/**
 * Whether s[a, b) is a hostname or an IPv4 address, without brackets: labels of
 * alphanumerics, '-' and '_' (which deployed stacks write), no empty label, an optional
 * trailing dot. A last label starting with a digit is no hostname (the grammar's
 * toplabel starts with a letter), so the whole must then be a dotted quad in the form
 * net/address.ts isIpv4 accepts: four decimal octets, 0-255, no leading zeros. One pass
 * (it runs on every Via and URI host): the quad is checked while the labels are.
 */
export function isHostAt(s: string, a: number, b: number): boolean {
  if (b <= a) return false;
  // The label being scanned: where it starts, its value while it is all digits (-1 once
  // not), whether it started with "0"; how many labels, and whether all were octets.
  let labelStart = a, value = 0, labels = 1, octets = true;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2e) {
      if (i === labelStart) return false;
      if (value < 0 || value > 255 || (i - labelStart > 1 && s.charCodeAt(labelStart) === 0x30)) {
        octets = false;
      }
      labelStart = i + 1;
      value = 0;
      if (labelStart < b) labels++;
    } else if (c >= 0x30 && c <= 0x39) {
      if (value >= 0) value = value * 10 + c - 0x30;
    } else if (((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x2d || c === 0x5f) {
      value = -1;
    } else return false;
  }
  // The last label: from the last dot (or a) to b, without a trailing dot.
  const trailingDot = labelStart === b;
  let last = trailingDot ? b - 1 : b;
  while (last > a && s.charCodeAt(last - 1) !== 0x2e) last--;
  const first = s.charCodeAt(last);
  if (first < 0x30 || first > 0x39) return true;
  if (trailingDot || labels !== 4 || !octets) return false;
  return value >= 0 && value <= 255 && !(b - labelStart > 1 && s.charCodeAt(labelStart) === 0x30);
}

/** Whether `host` (brackets included for IPv6) is a host in standard form. */
export function isHost(host: string): boolean {
  if (host.charCodeAt(0) === 0x5b) {
    return host.charCodeAt(host.length - 1) === 0x5d && isIpv6(host.slice(1, -1));
  }
  return isHostAt(host, 0, host.length);
}

/** A Via `received` value: IPv4 or IPv6 (RFC 5118 §4.5 writes it bare; brackets accepted). */
export function isReceivedAddress(v: string): boolean {
  if (isIpv4(v)) return true;
  return v.charCodeAt(0) === 0x5b
    ? v.charCodeAt(v.length - 1) === 0x5d && isIpv6(v.slice(1, -1))
    : isIpv6(v);
}

/**
 * Whether the host of a sip:/sips: URI is in standard form (another scheme: true),
 * without parsing the rest as parseUri does: the check for URIs passed on unread (the
 * lower Route entries). The host is found as parseUri finds it.
 */
export function isUriHostStandard(uri: string): boolean {
  const n = uri.length;
  if (
    (uri.charCodeAt(0) | 0x20) !== 0x73 || (uri.charCodeAt(1) | 0x20) !== 0x69 ||
    (uri.charCodeAt(2) | 0x20) !== 0x70
  ) return true;
  let i = uri.charCodeAt(3) === 0x3a ? 4 : 5;
  if (i === 5 && ((uri.charCodeAt(3) | 0x20) !== 0x73 || uri.charCodeAt(4) !== 0x3a)) return true;
  const at = uri.indexOf("@", i);
  if (at >= 0) i = at + 1;
  if (uri.charCodeAt(i) === 0x5b) {
    const close = uri.indexOf("]", i);
    return close > i && isIpv6(uri.slice(i + 1, close));
  }
  let e = i;
  while (e < n) {
    const c = uri.charCodeAt(e);
    if (c === 0x3a || c === 0x3b || c === 0x3f) break;
    e++;
  }
  return isHostAt(uri, i, e);
}
