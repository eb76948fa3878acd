/**
 * The TLS material of the config's `tls` section, read from its files: the listeners'
 * certificate and key, the trust anchors for members and for the certificates clients
 * present (default: the system's store),
 * and how a connection to a member checks it. Read at start and again on SIGHUP; a
 * file that cannot be read is an error naming it, and a reload that fails keeps the
 * certificate in use.
 */
import type { Config } from "../config/index.ts";
import type { Runtime, TlsClientOptions } from "../runtime/types.ts";
import type { Endpoint } from "./types.ts";

export interface TlsMaterial {
  /**
   * Null without tls.cert and tls.key (no TLS listener then). `ca` (tls.ca) also checks
   * the certificates clients present, for RFC 5923 alias.
   */
  server: { cert: string; key: string; ca?: string } | null;
  /** How a TLS connection to `to` is made and checked. */
  client(to: Endpoint, handshakeTimeoutMs: number): TlsClientOptions;
}

function read(rt: Runtime, key: string, path: string): string {
  try {
    return rt.readTextFile(path);
  } catch (e) {
    throw new Error(`tls.${key}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Reads the files; throws an Error naming the key and file that cannot be read. */
export function readTlsMaterial(rt: Runtime, config: Config): TlsMaterial {
  const t = config.tls;
  const ca = t.ca === null ? undefined : read(rt, "ca", t.ca);
  const server = t.cert !== null && t.key !== null
    ? { cert: read(rt, "cert", t.cert), key: read(rt, "key", t.key), ...(ca ? { ca } : {}) }
    : null;
  const mine = t.client_cert && server ? server : null;
  return {
    server,
    client: (to, handshakeTimeoutMs) => ({
      serverName: to.serverName ?? to.host,
      ca,
      verify: t.verify_members,
      ...(mine ? { cert: mine.cert, key: mine.key } : {}),
      handshakeTimeoutMs,
    }),
  };
}
