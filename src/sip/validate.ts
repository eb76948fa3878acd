// The checks a proxy makes before handling a message (RFC 3261 §16.3 for requests,
// §18.1.2 and RFC 4475 §3.3.10 for responses), on top of what parseMessage enforces.

import { SipParseError } from "./errors.ts";
import {
  H_CALL_ID,
  H_CSEQ,
  H_EXPIRES,
  H_FROM,
  H_RETRY_AFTER,
  H_TO,
  H_VIA,
  SINGLE_VALUE_IDS,
} from "./header-names.ts";
import { type SipMessage, STRIDE } from "./message.ts";
import { isUriHostStandard } from "./host.ts";
import { isBroadcastOrMulticast } from "./uri.ts";

/** Why a request is refused and what to answer. */
export interface Rejection {
  status: number;
  reason: string;
  /** Human detail for logs (not sent). */
  detail: string;
  /** Headers the answer must carry (Unsupported for 420). */
  headers?: [string, string][];
}

const REQUIRED: readonly [number, string][] = [
  [H_TO, "To"],
  [H_FROM, "From"],
  [H_CALL_ID, "Call-ID"],
  [H_CSEQ, "CSeq"],
  [H_VIA, "Via"],
];

const MAX_U32 = 0xffffffff;

function bad(detail: string): Rejection {
  return { status: 400, reason: "Bad Request", detail };
}

/** Ids counted by structuralProblem (every REQUIRED and SINGLE_VALUE id is below it). */
const COUNTED = 16;
/** Per-id line count and first line of the message being checked (reused). */
const counts = new Int32Array(COUNTED);
const firstLines = new Int32Array(COUNTED);

/**
 * Presence and single-value checks shared by requests and responses; a detail or null.
 * One pass over the index counts every id the checks ask about.
 */
function structuralProblem(msg: SipMessage): string | null {
  counts.fill(0);
  const idx = msg.index;
  for (let r = 0; r < idx.length; r += STRIDE) {
    const id = idx[r];
    if (id > 0 && id < COUNTED && counts[id]++ === 0) firstLines[id] = r / STRIDE;
  }
  for (const [id, name] of REQUIRED) {
    if (counts[id] === 0) return `missing ${name}`;
  }
  for (const id of SINGLE_VALUE_IDS) {
    if (counts[id] > 1) return `several ${msg.nameAt(firstLines[id])} headers`;
  }
  return null;
}

/** A decimal scalar header that must fit in 32 bits (Expires, Retry-After's delta). */
function overlargeScalar(msg: SipMessage, id: number): boolean {
  // Neither header is a list, so its value is the first line's (as header() gives it).
  const k = msg.firstLineOfId(id);
  if (k < 0) return false;
  const v = msg.valueAt(k);
  let d = 0;
  while (d < v.length && v.charCodeAt(d) >= 0x30 && v.charCodeAt(d) <= 0x39) d++;
  return d > 10 || (d > 0 && Number(v.slice(0, d)) > MAX_U32);
}

/**
 * What a proxy must answer instead of forwarding this request, or null to go on:
 * 400 (missing or repeated mandatory headers, malformed Via/From/To/CSeq/Max-Forwards/
 * Route URIs/Request-URI, CSeq method ≠ method, overlarge scalars), 416 (unsupported
 * Request-URI scheme), 483 (Max-Forwards 0; a caller may exempt OPTIONS to itself),
 * 420 with Unsupported listing the Proxy-Require tags not in supportedOptionTags.
 */
export function requestRejection(
  msg: SipMessage,
  supportedOptionTags: ReadonlySet<string>,
): Rejection | null {
  const problem = structuralProblem(msg);
  if (problem !== null) return bad(problem);
  let tags: string[];
  let mf: number | null;
  try {
    const uri = msg.uri;
    if (uri.scheme !== "sip" && uri.scheme !== "sips" && uri.scheme !== "tel") {
      return {
        status: 416,
        reason: "Unsupported URI Scheme",
        detail: `scheme ${uri.scheme}`,
      };
    }
    void msg.vias;
    void msg.from;
    void msg.to;
    // Every Route URI's host, not only the one routing reads: the next hops read the
    // others, and none may name one they could read differently (e.g. 0x0a.0.0.1).
    for (const route of msg.routes) {
      if (!isUriHostStandard(route.uri)) return bad("Route host is no hostname or standard IP");
    }
    const cseq = msg.cseq!;
    if (cseq.method !== msg.method) return bad("CSeq method differs from the request method");
    mf = msg.maxForwards;
    tags = msg.proxyRequire;
  } catch (e) {
    if (e instanceof SipParseError) return bad(e.message);
    throw e;
  }
  if (overlargeScalar(msg, H_EXPIRES)) return bad("Expires too large");
  if (mf === 0) return { status: 483, reason: "Too Many Hops", detail: "Max-Forwards is 0" };
  const unknown = tags.filter((t) => !supportedOptionTags.has(t.toLowerCase()));
  if (unknown.length > 0) {
    return {
      status: 420,
      reason: "Bad Extension",
      detail: `Proxy-Require ${unknown.join(", ")}`,
      headers: [["Unsupported", unknown.join(", ")]],
    };
  }
  return null;
}

/**
 * Why a response must be dropped instead of relayed, or null: missing or repeated
 * mandatory headers, malformed Via/CSeq/From/To, overlarge scalars, or a Via naming a
 * broadcast or multicast address (sent-by, maddr or received) that it would go to.
 */
export function responseRejection(msg: SipMessage): string | null {
  if (msg.status < 100 || msg.status > 699) return "bad status code";
  const problem = structuralProblem(msg);
  if (problem !== null) return problem;
  try {
    void msg.cseq;
    void msg.from;
    void msg.to;
    for (const via of msg.vias) {
      for (const host of [via.host, via.maddr, via.received]) {
        if (host !== null && isBroadcastOrMulticast(host)) {
          return `Via names a broadcast or multicast address ${host}`;
        }
      }
    }
  } catch (e) {
    if (e instanceof SipParseError) return e.message;
    throw e;
  }
  if (overlargeScalar(msg, H_RETRY_AFTER) || overlargeScalar(msg, H_EXPIRES)) {
    return "overlarge scalar";
  }
  return null;
}
