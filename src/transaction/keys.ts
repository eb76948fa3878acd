/**
 * Matching keys. One string per transaction identity, so a lookup is a single Map
 * probe. Parts are joined with "\n", which cannot occur inside a header value.
 */
import type { RequestFacts } from "./facts.ts";

/** The magic cookie of RFC 3261 branches; without it the peer follows RFC 2543. */
const COOKIE = "z9hg4bk";

/** Whether matching can use the branch (RFC 3261 §17.2.3) rather than RFC 2543 rules. */
export function hasRfc3261Branch(branch: string): boolean {
  return branch.length > COOKIE.length && branch.slice(0, COOKIE.length).toLowerCase() === COOKIE;
}

// Branch and sent-by are tokens and host names, both case-insensitive (RFC 3261 §7.3.1).

/** §17.1.3: a response matches by top-Via branch and CSeq method. */
export function clientKey(branch: string, cseqMethod: string): string {
  return `${branch.toLowerCase()}\n${cseqMethod}`;
}

/**
 * §17.2.3 for a request whose branch has the cookie: branch, sent-by and method, where
 * an ACK matches the INVITE it acknowledges. `method` overrides the request's own
 * (CANCEL looks up the INVITE it cancels).
 */
export function serverKey(req: RequestFacts, method = req.method): string {
  const m = method === "ACK" ? "INVITE" : method;
  return `${req.branch.toLowerCase()}\n${req.sentBy.toLowerCase()}\n${m}`;
}

/**
 * §17.2.3 for RFC 2543 peers: Request-URI, To tag, From tag, Call-ID, CSeq and top Via.
 * The method is part of the key so that a CANCEL (same CSeq number) is its own
 * transaction; pass "INVITE" to find the INVITE a CANCEL cancels (§9.2).
 */
export function rfc2543Key(req: RequestFacts, method = req.method): string {
  return `2543\n${method}\n${req.requestUri}\n${req.toTag}\n${req.fromTag}\n${req.callId}\n${req.cseq}\n${req.viaKey}`;
}

/**
 * §17.2.3 for an RFC 2543 ACK: as the INVITE minus the To tag, which must instead equal
 * the To tag of the final response the transaction sent (checked by the caller).
 */
export function rfc2543AckKey(req: RequestFacts): string {
  return `2543-ack\n${req.requestUri}\n${req.fromTag}\n${req.callId}\n${req.cseq}\n${req.viaKey}`;
}
