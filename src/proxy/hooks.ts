/** What the proxy core reports to, and asks of, the service around it. */
import type { OcChange } from "./overload-control.ts";
import type { DropReason, Source } from "./types.ts";

export interface ProxyHooks {
  /** A request arrived (before any check), for per-method counters. */
  onRequest?(method: string): void;
  /** A response to a forwarded request arrived (not a probe answer), for per-class counters. */
  onResponse?(status: number): void;
  onDrop?(reason: DropReason): void;
  /** vipless answered a request itself with this status. */
  onLocalResponse?(status: number): void;
  /** A request (other than OPTIONS) arrived from this address: may be a pair member taking over. */
  onRequestFrom?(src: Source, method: string): void;
  /** True when the source is a member of a pair (a SIP server), decided after onRequestFrom. */
  isMember(src: Source): boolean;
  /** A forwarded request failed at a pair member (timeout or transport error). */
  onForwardFailure?(member: { host: string; port: number }, why: string): void;
  /** A pair member answered a forwarded request with 503 (RFC 3263: try its next target). */
  onUnavailable?(member: { host: string; port: number }): void;
  /** A request was forwarded to a pair member; `retry` after another hop failed. */
  onForwarded?(member: { host: string; port: number }, retry: boolean): void;
  /** A pair member responded to a request forwarded to it. */
  onAnswered?(member: { host: string; port: number }): void;
  /** An answer to one of our OPTIONS probes (its branch starts with PROBE_BRANCH_PREFIX). */
  onProbeResponse?(branch: string, status: number, src: Source): void;
  /** True while the served pair has an active member (OPTIONS to vipless: 200, else 503). */
  servedPairReady(): boolean;
  /** A new request was refused with 503 because a bound was reached (load shedding). */
  onOverload?(reason: OverloadReason): void;
  /** True while vipless is saturated: new INVITEs are refused before any work. */
  saturated?(): boolean;
  /** The main thread's busy share lately, 0 to 1 (service/thread-busy.ts), or null. */
  busy?(): number | null;
  /**
   * A member's answer set, changed or ended its RFC 7339 throttle (or carried oc
   * parameters we cannot use). Never a forward failure: it says nothing of its health.
   */
  onMemberOverloadControl?(member: { host: string; port: number }, change: OcChange): void;
}

/**
 * Which bound shed a request: `sip.max_transactions`, `overload.max_invite_rate`,
 * `overload.max_delay`, the loss a pair member asked for (RFC 7339 `oc`), or the
 * requests parked while their target's name is looked up (parked-requests.ts).
 */
export type OverloadReason =
  | "transactions"
  | "invite-rate"
  | "saturated"
  | "member-oc"
  | "dns-parked";
