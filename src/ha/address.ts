// Host normalisation, so that a source address reported by a socket
// ("::ffff:10.0.0.11", "[2001:DB8::1]") finds the member written in the config
// ("10.0.0.11", "2001:db8::1"). Host names compare case-insensitively.

import type { HaMemberSpec } from "./types.ts";

export const DEFAULT_SIP_PORT = 5060;

/** Parses an IPv6 literal (no brackets, no zone) into 8 groups, or null. */
function parseIpv6(text: string): number[] | null {
  let s = text;
  const tail: number[] = [];
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const bytes = v4.slice(2, 6).map(Number);
    if (bytes.some((b) => b > 255)) return null;
    tail.push((bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3]);
    s = v4[1].endsWith("::") ? v4[1] : v4[1].slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const toGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    for (const g of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
      groups.push(parseInt(g, 16));
    }
    return groups;
  };
  const head = toGroups(halves[0]);
  const rest = halves.length === 2 ? toGroups(halves[1]) : [];
  if (head === null || rest === null) return null;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 2) {
    if (known > 7) return null;
    return [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  }
  return known === 8 ? [...head, ...tail] : null;
}

/** RFC 5952 text form: lower case, no leading zeros, longest zero run (2+) as "::". */
function formatIpv6(groups: number[]): string {
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/**
 * Lower case, brackets stripped, IPv6 in RFC 5952 form, IPv4-mapped IPv6 as plain IPv4,
 * and a trailing dot of a fully qualified name dropped.
 */
export function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (!h.includes(":")) return h.endsWith(".") ? h.slice(0, -1) : h;
  const zoneAt = h.indexOf("%");
  const zone = zoneAt >= 0 ? h.slice(zoneAt) : "";
  const groups = parseIpv6(zoneAt >= 0 ? h.slice(0, zoneAt) : h);
  if (groups === null) return h;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped && zone === "") {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join(".");
  }
  return formatIpv6(groups) + zone;
}

/** Key of a transport address, used to find a member from a host and port. */
export function addressKey(host: string, port: number | null | undefined): string {
  return `${normaliseHost(host)}|${port ?? DEFAULT_SIP_PORT}`;
}

/** Identity of a member: two specs with the same key are the same server. */
export function memberKey(member: HaMemberSpec): string {
  return `${member.scheme}:${addressKey(member.host, member.port)};${member.transport}`;
}
