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

/** The first Via header line (or its compact form v:) of a header section. */
const VIA_LINE = /\r\n(?:via|v)[ \t]*:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)/i;
/** "alias" in lower case, for the byte scan. */
const ALIAS = [0x61, 0x6c, 0x69, 0x61, 0x73];

/** The top Via's sent-by when that Via is over TLS and carries `alias`; else null. */
export function aliasOf(bytes: Uint8Array): AliasTarget | null {
  // A response ("SIP/2.0 ...") asks nothing.
  if (bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f) return null;
  const end = aliasInHeader(bytes);
  if (end < 0) return null;
  const head = latin1(bytes.subarray(0, end));
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

/**
 * The end of the header section when "alias" (any case) occurs in it, else -1: one pass
 * over the bytes, so a TLS request without alias costs no decoding.
 */
function aliasInHeader(bytes: Uint8Array): number {
  let found = false;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return found ? i : -1;
    }
    if (!found && (b | 0x20) === 0x61 && i + 4 < n) {
      found = (bytes[i + 1]! | 0x20) === ALIAS[1] && (bytes[i + 2]! | 0x20) === ALIAS[2] &&
        (bytes[i + 3]! | 0x20) === ALIAS[3] && (bytes[i + 4]! | 0x20) === ALIAS[4];
    }
  }
  return found ? n : -1;
}
