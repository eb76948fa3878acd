/**
 * Branch identifiers and loop detection (RFC 3261 §16.3 step 4, §16.6 step 8, RFC 5393).
 *
 * Our branch is `z9hG4bK` + "vl" + a hash of the request fields that a spiral changes
 * (Request-URI, From tag, To tag, Call-ID, CSeq number, top Via, Proxy-Require) + a
 * counter. When a request arrives that already carries a Via of ours, recomputing the
 * hash tells a loop (same hash: 482) from a spiral (different hash: forward).
 */

import type { SipMessage, Via } from "../sip/index.ts";
import { randomToken } from "../sip/random-token.ts";
import type { SelfAddresses } from "./self.ts";

export const BRANCH_PREFIX = "z9hG4bKvl";
/** Probes use their own prefix so their answers are told apart before matching. */
export const PROBE_BRANCH_PREFIX = "z9hG4bKvp";

/** 32-bit FNV-1a over a string's code units, as 8 hex digits. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export interface LoopFields {
  requestUri: string;
  fromTag: string;
  toTag: string;
  callId: string;
  cseq: number;
  topVia: string;
  proxyRequire: string;
}

export function loopHash(f: LoopFields): string {
  return fnv1a(
    `${f.requestUri}\n${f.fromTag}\n${f.toTag}\n${f.callId}\n${f.cseq}\n${f.topVia}\n${f.proxyRequire}`,
  );
}

/**
 * A new branch for a request whose loop hash is `hash`: the hash, then a random part
 * (64 bits) so that no one who cannot see the request can guess the branch of its
 * answer (RFC 3261 §8.1.1.7).
 */
export function newBranch(hash: string, instance: string): string {
  return `${BRANCH_PREFIX}${hash}.${instance}${randomToken(8)}`;
}

/** The loop hash a branch of ours carries, or null when the branch is not ours. */
export function hashOfBranch(branch: string): string | null {
  if (!branch.startsWith(BRANCH_PREFIX)) return null;
  return branch.slice(BRANCH_PREFIX.length, BRANCH_PREFIX.length + 8);
}

/**
 * The hash our branch carries for `req`. `topVia` is the top Via of the request as we
 * received it, identified by transport, sent-by and branch only: we add received/rport
 * to it when forwarding, and a looped request must still hash the same.
 */
export function requestLoopHash(req: SipMessage, topVia: Via | null): string {
  return loopHash({
    requestUri: req.requestUri,
    fromTag: req.from?.tag ?? "",
    toTag: req.to?.tag ?? "",
    callId: req.callId ?? "",
    cseq: req.cseq!.seq,
    topVia: topVia === null
      ? ""
      : `${topVia.transport} ${topVia.host}:${topVia.port ?? ""};${topVia.branch ?? ""}`,
    proxyRequire: req.proxyRequire.join(","),
  });
}

/**
 * True when a Via of ours carries the hash this request would get now (§16.3 step 4).
 * When we sent it, the Via below ours was the top one, so that is the one hashed;
 * hashing the request's current top Via (the next hop's) would never match a real loop.
 */
export function isLooped(req: SipMessage, self: SelfAddresses): boolean {
  const vias = req.vias;
  for (let i = 0; i + 1 < vias.length; i++) {
    const v = vias[i]!;
    if (!self.isSelfSentBy(v.host, v.port)) continue;
    if (hashOfBranch(v.branch ?? "") === requestLoopHash(req, vias[i + 1]!)) return true;
  }
  return false;
}
