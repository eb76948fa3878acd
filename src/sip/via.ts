// Via header entries (RFC 3261 §20.42, RFC 3581 rport).

import { isIpv6 } from "../net/address.ts";
import { malformed } from "./errors.ts";
import { isHost, isHostAt, isReceivedAddress } from "./host.ts";
import {
  digitsEnd,
  digitsValue,
  isLws,
  lowerSlice,
  parseParams,
  portNumber,
  skipLws,
  tokenEnd,
  upperSlice,
} from "./lists.ts";

/** One Via entry (one hop). */
export interface Via {
  /** "SIP/2.0" (protocol name and version, uppercase, without spaces). */
  protocol: string;
  /** Uppercase transport token: UDP, TCP, TLS, SCTP, WS, ... */
  transport: string;
  /** sent-by host as written (IPv6 keeps brackets), lowercase. */
  host: string;
  /** sent-by port, null when absent. */
  port: number | null;
  branch: string | null;
  received: string | null;
  /** null: absent; true: present without value (asks for it); number: filled in. */
  rport: null | true | number;
  maddr: string | null;
  ttl: number | null;
  /** All parameters, lowercase names (branch, received... included). */
  params: Map<string, string | null>;
  /** The entry's text as received (unfolded). */
  raw: string;
}

/** Parses one Via entry (the text between commas). Throws SipParseError on bad syntax. */
export function parseVia(s: string): Via {
  return parseViaIn(s, 0, s.length, s);
}

/**
 * parseVia of s[a, n), which is `raw` (unfolded): a message's decoders scan the entry
 * inside the message text, as scanning a fresh slice costs more in both engines.
 */
export function parseViaIn(s: string, a: number, n: number, raw: string): Via {
  let i = skipLws(s, a, n);
  let e: number;
  let protocol: string;
  if (i + 8 <= n && s.startsWith("SIP/2.0/", i)) {
    // The usual spelling: the tokens and slashes the general path would find.
    protocol = "SIP/2.0";
    i = skipLws(s, i + 8, n);
  } else {
    e = tokenEnd(s, i, n);
    if (e === i) throw malformed("Via without protocol name");
    const name = upperSlice(s, i, e);
    i = expectSlash(s, skipLws(s, e, n), n);
    e = tokenEnd(s, i, n);
    if (e === i) throw malformed("Via without protocol version");
    protocol = `${name}/${s.slice(i, e)}`;
    // Any other protocol or version is not a hop this proxy can answer or relay.
    if (protocol !== "SIP/2.0") throw malformed("Via protocol is not SIP/2.0");
    i = expectSlash(s, skipLws(s, e, n), n);
  }
  e = tokenEnd(s, i, n);
  if (e === i) throw malformed("Via without transport");
  const transport = upperSlice(s, i, e);
  i = skipLws(s, e, n);
  if (i === e) throw malformed("Via without space before sent-by");
  // sent-by = host [ COLON port ]
  let he = i;
  if (i < n && s.charCodeAt(i) === 0x5b) {
    he = s.indexOf("]", i);
    if (he < 0 || he >= n) throw malformed("Via IPv6 sent-by without ]");
    if (!isIpv6(s.slice(i + 1, he))) throw malformed("bad IPv6 reference in Via sent-by");
    he++;
  } else {
    while (he < n) {
      const c = s.charCodeAt(he);
      if (isLws(c) || c === 0x3a || c === 0x3b) break;
      he++;
    }
    if (he === i) throw malformed("Via without sent-by host");
  }
  const host = lowerSlice(s, i, he);
  if (s.charCodeAt(i) !== 0x5b && !isHostAt(host, 0, host.length)) {
    throw malformed("Via sent-by is no hostname or standard IP address");
  }
  i = skipLws(s, he, n);
  let port: number | null = null;
  if (i < n && s.charCodeAt(i) === 0x3a) {
    const digits = skipLws(s, i + 1, n);
    i = digitsEnd(s, digits, n);
    port = portNumber(s, digits, i, "Via ");
  }
  const params = new Map<string, string | null>();
  i = parseParams(s, i, n, params);
  if (i !== n) throw malformed("junk in Via");
  const rportText = params.get("rport");
  let rport: null | true | number = null;
  if (rportText === null) rport = true;
  else if (rportText !== undefined) {
    const v = digitsValue(rportText, 0, rportText.length, 5);
    if (v < 0 || v > 65535) throw malformed("bad rport");
    rport = v;
  }
  const ttlText = params.get("ttl");
  let ttl: number | null = null;
  if (ttlText !== undefined) {
    const v = ttlText === null ? -1 : digitsValue(ttlText, 0, ttlText.length, 3);
    if (v < 0 || v > 255) throw malformed("bad ttl");
    ttl = v;
  }
  // received and maddr name where responses go: standard forms only, or a resolver
  // might read "0x10.0.0.1" as 16.0.0.1.
  const received = params.get("received");
  if (received !== undefined && (received === null || !isReceivedAddress(received))) {
    throw malformed("Via received is no standard IP address");
  }
  const maddr = params.get("maddr");
  if (maddr !== undefined && (maddr === null || !isHost(maddr))) {
    throw malformed("Via maddr is no hostname or standard IP address");
  }
  return {
    protocol,
    transport,
    host,
    port,
    branch: params.get("branch") ?? null,
    received: received ?? null,
    rport,
    maddr: maddr ?? null,
    ttl,
    params,
    raw,
  };
}

function expectSlash(s: string, i: number, n: number): number {
  if (i >= n || s.charCodeAt(i) !== 0x2f) throw malformed("Via sent-protocol without /");
  return skipLws(s, i + 1, n);
}
