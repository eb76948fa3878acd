/** What the proxy core needs from its surroundings, and what it reports to them. */
import type { SipTransportName } from "../transport/types.ts";
import type { TargetQuery } from "./outbound-targets.ts";

/**
 * Where a message goes. `conn` is the opaque stream a request arrived on, so that its
 * responses reuse it while it is open (RFC 3261 §18.2.2); the core never looks inside.
 */
export interface Dest {
  transport: SipTransportName;
  host: string;
  port: number;
  conn?: unknown;
  /** TLS: the name to check the server's certificate against (transport Endpoint). */
  serverName?: string;
}

/** Where a message came from. */
export interface Source {
  transport: SipTransportName;
  host: string;
  port: number;
  conn?: unknown;
}

/** The core's only way out: the glue performs these. */
export interface ProxyOutput {
  send(bytes: Uint8Array, to: Dest): void;
  /**
   * Locate a name (RFC 3263, dns/locate.ts) and hand the result (or the error) to
   * `ProxyCore.onLocated(key, …)`, later, never from within this call. Absent: a name
   * without a port cannot be located and its requests get 503.
   */
  locate?(query: TargetQuery, key: string): void;
}

/** Why a message was dropped without an answer (a label of vipless_dropped_total). */
export type DropReason =
  | "malformed-request"
  | "malformed-response"
  | "invalid-response"
  | "via-not-ours"
  | "ack-unroutable"
  | "stale-probe-response"
  | "too-large"
  | "loop-on-ack";

export interface ProxySettings {
  /** Host (and port) written into our Via and Record-Route. */
  advertiseHost: string;
  advertisePort: number | null;
  /**
   * The port in our Via and Record-Route over TLS, when `advertisePort` is set (the
   * TLS listener's; null: 5061). With no advertised port the TLS default is implied.
   */
  advertiseTlsPort?: number | null;
  /**
   * Our Via over TLS carries RFC 5923 `alias` (tls.client_cert: we present the
   * certificate that lets the server verify our sent-by, so it may reuse the connection).
   */
  tlsAlias?: boolean;
  /** Addresses vipless listens on, so that Route/Request-URI naming them count as "us". */
  localAddresses: ReadonlyArray<{ host: string; port: number }>;
  /** No response to a forwarded INVITE this long: try the next hop. */
  failoverTimeoutMs: number;
  t1Ms: number;
  maxTransactions: number;
  maxMessageBytes: number;
  userAgent: string;
  /** INVITEs per second above which new INVITEs get 503 (0 = off). */
  maxInviteRate: number;
  /**
   * Wall-clock ms at monotonic 0, so that the RFC 7339 oc-seq we send grows across
   * restarts (clients ignore a smaller one). Absent: 0.
   */
  ocSeqOffsetMs?: number;
}
