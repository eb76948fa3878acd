/**
 * A TLS client's certificate as both adapters see it: Bun's socket and node:tls (under
 * Deno) give the same getPeerCertificate() shape and the same verification result.
 */
import type { PeerCertificate } from "./types.ts";

/** What getPeerCertificate() returns: {} (or nothing) when the client sent none. */
interface NodeStyleCertificate {
  subjectaltname?: string;
  raw?: unknown;
}

/**
 * The certificate of an accepted connection, or null when the client presented none.
 * `authorized` and `error` are the handshake's verdict on its chain.
 */
export function peerCertificateOf(
  cert: NodeStyleCertificate | null | undefined,
  authorized: boolean,
  error: unknown,
): PeerCertificate | null {
  if (!cert || cert.raw === undefined) return null;
  return {
    verified: authorized,
    ...(authorized ? {} : { error: errorCode(error) }),
    names: subjectAltNames(cert.subjectaltname ?? ""),
  };
}

/** "DNS:a.example, IP Address:127.0.0.1" → ["a.example", "127.0.0.1"]; other kinds left out. */
export function subjectAltNames(text: string): string[] {
  const names: string[] = [];
  for (const part of text.split(",")) {
    const entry = part.trim();
    if (entry.startsWith("DNS:")) names.push(entry.slice(4));
    else if (entry.startsWith("IP Address:")) names.push(entry.slice(11));
  }
  return names;
}

function errorCode(error: unknown): string {
  if (error === null || error === undefined) return "unverified";
  if (typeof error === "string") return error;
  const e = error as { code?: unknown; message?: unknown };
  return typeof e.code === "string" ? e.code : String(e.message ?? error);
}
