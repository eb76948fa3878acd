// Building new messages: responses from a request, OPTIONS probes, CANCEL and the ACK
// for a non-2xx final response. Header lines copied from a message keep their bytes.

import { malformed } from "./errors.ts";
import { H_CALL_ID, H_CSEQ, H_FROM, H_ROUTE, H_TO, H_VIA } from "./header-names.ts";
import { F_LINE, F_LINE_END, type SipMessage, STRIDE } from "./message.ts";
import { toByteString, writeByteString } from "./text.ts";

/** Extra header lines: [name, value] pairs, written in order. */
export type HeaderPairs = readonly (readonly [string, string])[];

/** Options of buildResponse. */
export interface ResponseOptions {
  /** To tag to add when the request's To has none (status > 100). Default: derived. */
  toTag?: string;
  /** Extra headers after the copied ones. */
  headers?: HeaderPairs;
  /** Body bytes (or text, sent as UTF-8). Content-Type goes in `headers`. */
  body?: Uint8Array | string;
}

/** Byte-string pieces joined into bytes at the end. */
class Pieces {
  #parts: string[] = [];
  #bodyBytes: Uint8Array = new Uint8Array(0);
  add(s: string): this {
    this.#parts.push(s);
    return this;
  }
  header(name: string, value: string): this {
    return this.add(`${toByteString(name)}: ${toByteString(value)}\r\n`);
  }
  headers(list: HeaderPairs | undefined): this {
    if (list) { for (const [n, v] of list) this.header(n, v); }
    return this;
  }
  body(b: Uint8Array | string | undefined): this {
    if (b !== undefined) this.#bodyBytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
    return this.add(`Content-Length: ${this.#bodyBytes.length}\r\n\r\n`);
  }
  bytes(): Uint8Array {
    let size = this.#bodyBytes.length;
    for (const p of this.#parts) size += p.length;
    const out = new Uint8Array(size);
    let pos = 0;
    for (const p of this.#parts) pos = writeByteString(out, pos, p);
    out.set(this.#bodyBytes, pos);
    return out;
  }
}

/** NUL, and CR or LF outside a CRLF pair. */
const UNSAFE_OCTETS = /\0|\r(?!\n)|(?<!\r)\n/g;

/**
 * Header text copied from msg: as received, unless the parser found octets a receiver
 * could misread (the message is refused, and our answer must not carry them back).
 */
function copied(msg: SipMessage, text: string): string {
  return msg.unsafeOctets ? text.replace(UNSAFE_OCTETS, " ") : text;
}

/** The raw lines (name, value, CRLF as received) of a header id, in order. */
function copyLines(msg: SipMessage, id: number, into: Pieces): number {
  let count = 0;
  for (const k of msg.linesOfId(id)) {
    const r = k * STRIDE;
    into.add(copied(msg, msg.src.slice(msg.index[r + F_LINE], msg.index[r + F_LINE_END])));
    count++;
  }
  return count;
}

/** Top Via entry of a request as a byte string (value only). */
function topViaText(msg: SipMessage): string {
  const k = msg.firstLineOfId(H_VIA);
  if (k < 0) throw malformed("request without Via");
  const [a, b] = msg.elementRanges(k)[0];
  return msg.src.slice(a, b).replace(/[ \t]*\r\n[ \t]+/g, " ");
}

/** 32-bit FNV-1a in hex: a stable To tag for retransmissions of one request. */
/**
 * The To tag of a response built without one (a stateless answer): derived from the
 * request's Call-ID, From tag and top branch, so that a retransmission gets the same tag
 * and the hop-by-hop ACK for it (same branch, RFC 3261 §17.1.1.3) can be recognised.
 */
export function derivedToTag(req: SipMessage): string {
  return stableTag(`${req.callId}|${safe(() => req.from?.tag)}|${safe(() => req.topVia?.branch)}`);
}

function stableTag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * Builds a response to a request (RFC 3261 §8.2.6): all Via lines, From, To (with a tag
 * added when it has none and status > 100), Call-ID and CSeq copied; then `headers`,
 * Content-Length and the body. Without `toTag` the tag is derived from the request's
 * Call-ID, From tag and top branch, so a retransmission gets the same one.
 */
export function buildResponse(
  req: SipMessage,
  status: number,
  reason: string,
  options: ResponseOptions = {},
): Uint8Array {
  const out = new Pieces().add(`SIP/2.0 ${status} ${toByteString(reason)}\r\n`);
  copyLines(req, H_VIA, out);
  copyLines(req, H_FROM, out);
  const toLine = req.firstLineOfId(H_TO);
  if (toLine >= 0) {
    const to = safe(() => req.to);
    if (status > 100 && to !== null && to !== undefined && to.tag === null) {
      const tag = options.toTag ?? derivedToTag(req);
      out.add(`To: ${copied(req, req.valueAtRaw(toLine))};tag=${toByteString(tag)}\r\n`);
    } else copyLines(req, H_TO, out);
  }
  copyLines(req, H_CALL_ID, out);
  copyLines(req, H_CSEQ, out);
  return out.headers(options.headers).body(options.body).bytes();
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Fields of a new request (an OPTIONS probe, typically). */
export interface RequestFields {
  method: string;
  uri: string;
  /** Via value, e.g. `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK…`. */
  via: string;
  /** From value including its tag, e.g. `<sip:vipless@192.0.2.1>;tag=abc`. */
  from: string;
  to: string;
  callId: string;
  cseq: number;
  maxForwards?: number;
  userAgent?: string;
  headers?: HeaderPairs;
  body?: Uint8Array | string;
}

/** Builds a request from scratch (CSeq method = method, Max-Forwards default 70). */
export function buildRequest(f: RequestFields): Uint8Array {
  const out = new Pieces()
    .add(`${toByteString(f.method)} ${toByteString(f.uri)} SIP/2.0\r\n`)
    .header("Via", f.via)
    .header("Max-Forwards", `${f.maxForwards ?? 70}`)
    .header("From", f.from)
    .header("To", f.to)
    .header("Call-ID", f.callId)
    .header("CSeq", `${f.cseq} ${f.method}`);
  if (f.userAgent !== undefined) out.header("User-Agent", f.userAgent);
  return out.headers(f.headers).body(f.body).bytes();
}

/** CSeq number of a request, or an error when it has none. */
function seqOf(msg: SipMessage): number {
  const c = msg.cseq;
  if (c === null) throw malformed("request without CSeq");
  return c.seq;
}

/**
 * CANCEL for a forwarded INVITE (RFC 3261 §9.1): same Request-URI, top Via only, Route
 * lines, From, To (no new tag), Call-ID, CSeq number with method CANCEL.
 */
export function buildCancel(invite: SipMessage): Uint8Array {
  return sameTransactionRequest("CANCEL", invite, null);
}

/**
 * ACK for a non-2xx final response to an INVITE (RFC 3261 §17.1.1.3): the INVITE's
 * Request-URI, top Via, Route, From, Call-ID and CSeq number; the response's To.
 */
export function buildAck(invite: SipMessage, response: SipMessage): Uint8Array {
  return sameTransactionRequest("ACK", invite, response);
}

/**
 * A CANCEL or non-2xx ACK: the INVITE's Request-URI, top Via (so it matches the
 * INVITE's transaction), Route, From, Call-ID and CSeq number. The To line is the
 * response's when one is given and has it (its tag), else the INVITE's.
 */
function sameTransactionRequest(
  method: "CANCEL" | "ACK",
  invite: SipMessage,
  response: SipMessage | null,
): Uint8Array {
  const out = new Pieces()
    .add(`${method} ${invite.requestUri} SIP/2.0\r\n`)
    .add(`Via: ${topViaText(invite)}\r\n`);
  copyLines(invite, H_ROUTE, out);
  out.add("Max-Forwards: 70\r\n");
  copyLines(invite, H_FROM, out);
  if (response === null || copyLines(response, H_TO, out) === 0) copyLines(invite, H_TO, out);
  copyLines(invite, H_CALL_ID, out);
  out.add(`CSeq: ${seqOf(invite)} ${method}\r\n`);
  return out.body(undefined).bytes();
}
