/**
 * RFC 5923 connection reuse: a request over TLS whose top Via carries `alias` asks that
 * later requests to its sent-by use this connection. The transport reads just that
 * much of a request (only TLS requests that contain "alias" at all are scanned), and
 * honours it only when the client's certificate proves the sent-by host its own
 * (RFC 5923 §10): a verified chain and a subjectAltName naming that host.
 */
import { normaliseHost, stripBrackets } from "../net/address.ts";
import type { PeerCertificate } from "../runtime/types.ts";
import { parseVia } from "../sip/index.ts";
import { latin1 } from "../sip/text.ts";

/** Where the alias would send later requests: the top Via's sent-by (5061 when it has no port). */
export interface AliasTarget {
  host: string;
  port: number;
}

/** Why an alias was not honoured (vipless_tls_alias_ignored_total{reason}). */
export type AliasRefusal = "no-certificate" | "unverified-certificate" | "name-mismatch";
export const ALIAS_REFUSALS: readonly AliasRefusal[] = [
  "no-certificate",
  "unverified-certificate",
  "name-mismatch",
];

const CRLFCRLF = [13, 10, 13, 10];
const ALIAS = /alias/i;
/** The first Via header line (or its compact form v:) of a header section. */
const VIA_LINE = /\r\n(?:via|v)[ \t]*:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)/i;

/** The top Via's sent-by when that Via is over TLS and carries `alias`; else null. */
export function aliasOf(bytes: Uint8Array): AliasTarget | null {
  // A response ("SIP/2.0 ...") asks nothing.
  if (bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f) return null;
  const head = latin1(bytes.subarray(0, headerEnd(bytes)));
  if (!ALIAS.test(head)) return null;
  const line = VIA_LINE.exec(head);
  if (!line) return null;
  const value = line[1]!.replace(/\r\n[ \t]/g, " ");
  const comma = value.indexOf(",");
  try {
    const via = parseVia(comma < 0 ? value : value.slice(0, comma));
    if (via.transport !== "TLS" || !via.params.has("alias")) return null;
    return { host: stripBrackets(via.host), port: via.port ?? 5061 };
  } catch {
    return null; // a malformed Via is the SIP core's to answer
  }
}

/** Null when `cert` proves `host` (RFC 5923 §10), else why not. */
export function aliasRefusal(
  cert: PeerCertificate | null | undefined,
  host: string,
): AliasRefusal | null {
  if (!cert) return "no-certificate";
  if (!cert.verified) return "unverified-certificate";
  const wanted = normaliseHost(host);
  // Exact names only: a wildcard does not prove one host (RFC 5922 §7.2 for SIP).
  return cert.names.some((name) => normaliseHost(name) === wanted) ? null : "name-mismatch";
}

function headerEnd(bytes: Uint8Array): number {
  const limit = Math.min(bytes.length, 65_536);
  outer: for (let i = 0; i + 3 < limit; i++) {
    for (let k = 0; k < 4; k++) if (bytes[i + k] !== CRLFCRLF[k]) continue outer;
    return i;
  }
  return limit;
}
