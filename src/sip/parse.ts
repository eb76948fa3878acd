// The scanner: start line plus an index of header lines over the original bytes.

import { SipParseError } from "./errors.ts";
import { H_CONTENT_LENGTH, identify, isToken, TOKEN } from "./header-names.ts";
import { digitsValue, isLws } from "./lists.ts";
import { F_LINE_END, F_VALUE, F_VALUE_END, SipMessage, STRIDE } from "./message.ts";
import { byteString } from "./text.ts";
import { uriScheme } from "./uri.ts";

/** Limits applied while parsing. */
export interface ParseOptions {
  /** Largest message accepted (start line to end of body); above it: 513. Default 65535. */
  maxBytes?: number;
  /** Most header lines accepted; above it: 513. Default 256. */
  maxHeaders?: number;
  /**
   * True for a message framed from a stream (its bytes are exactly one message and
   * Content-Length is mandatory). False (default) for a datagram: without
   * Content-Length the body runs to the end, and octets past it are ignored.
   */
  stream?: boolean;
}

/** Request-URI schemes a proxy can route. */
const ROUTABLE_SCHEMES = new Set(["sip", "sips", "tel"]);

/**
 * Parses one SIP message. Throws only SipParseError: for a request its `status` is the
 * answer to send (400, 416, 505, 513) and `partial` holds the indexed message when the
 * headers could be indexed; for a response `drop` is true.
 */
export function parseMessage(bytes: Uint8Array, options?: ParseOptions): SipMessage {
  const s = byteString(bytes);
  const n = s.length;
  let p = 0;
  while (p + 1 < n && s.charCodeAt(p) === 0x0d && s.charCodeAt(p + 1) === 0x0a) p += 2;
  const lineEnd = s.indexOf("\r\n", p);
  const isResponse = s.startsWith("SIP/", p);
  if (lineEnd < 0) throw new SipParseError("no CRLF after the start line", 400, true);

  // Start line. Problems found here are thrown after indexing the headers, so the
  // error can carry the message a proxy needs to answer it.
  let deferred: SipParseError | null = null;
  // Octets a receiver could misread (NUL, bare CR or LF) or a broken header line: the
  // message is indexed on, so that the error carries it (a request's 400 is built from
  // it, a response is counted as one), and refused once indexed.
  let unsafe: string | null = null;
  let method = "", status = 0;
  let uriStart = 0, uriEnd = 0, reasonStart = 0, reasonEnd = 0;
  if (isResponse) {
    const sp = s.indexOf(" ", p);
    if (sp < 0 || sp > lineEnd || s.slice(p, sp) !== "SIP/2.0") {
      throw new SipParseError("bad SIP version in status line", 400, true);
    }
    const d0 = s.charCodeAt(sp + 1) - 0x30;
    const d1 = s.charCodeAt(sp + 2) - 0x30;
    const d2 = s.charCodeAt(sp + 3) - 0x30;
    const after = sp + 4;
    if (
      !(d0 >= 1 && d0 <= 6 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) ||
      (after < lineEnd && s.charCodeAt(after) !== 0x20)
    ) {
      throw new SipParseError("bad status code", 400, true);
    }
    status = d0 * 100 + d1 * 10 + d2;
    reasonStart = Math.min(after + 1, lineEnd);
    reasonEnd = lineEnd;
    for (let i = reasonStart; i < reasonEnd; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c === 0x0a || c === 0x0d) unsafe = "NUL, CR or LF in the reason phrase";
    }
  } else {
    // Method SP Request-URI SP SIP-Version; runs of spaces are tolerated (RFC 4475
    // §3.1.2.9/10 allow it; the editor forwards the canonical line), any other
    // whitespace or a fourth element is not.
    const sp1 = s.indexOf(" ", p);
    if (sp1 < 0 || sp1 > lineEnd || !isToken(s, p, sp1)) {
      throw new SipParseError("malformed Request-Line", 400, true);
    }
    method = s.slice(p, sp1);
    uriStart = skipSpaces(s, sp1, lineEnd);
    uriEnd = s.indexOf(" ", uriStart);
    if (uriEnd < 0 || uriEnd > lineEnd) uriEnd = lineEnd;
    const vStart = skipSpaces(s, uriEnd, lineEnd);
    let vEnd = lineEnd;
    while (vEnd > vStart && s.charCodeAt(vEnd - 1) === 0x20) vEnd--;
    if (!isSip20(s, vStart, vEnd)) {
      const version = s.slice(vStart, vEnd);
      deferred = /^SIP\/[0-9]+\.[0-9]+$/i.test(version)
        ? new SipParseError(`unsupported SIP version ${version}`, 505)
        : new SipParseError("malformed Request-Line", 400);
    } else if (uriStart === uriEnd || !cleanUri(s, uriStart, uriEnd)) {
      deferred = new SipParseError("malformed Request-URI", 400);
    } else {
      const scheme = routableScheme(s, uriStart) ?? uriScheme(s.slice(uriStart, uriEnd));
      if (scheme === null) deferred = new SipParseError("Request-URI without scheme", 400);
      else if (!ROUTABLE_SCHEMES.has(scheme)) {
        deferred = new SipParseError(`unsupported URI scheme ${scheme}`, 416);
      }
    }
  }

  // Header lines, indexed into a reused scratch array and copied out once at the end.
  const maxHeaders = options?.maxHeaders ?? 256;
  const idx = scratch;
  let len = 0;
  let pos = lineEnd + 2;
  const headersStart = pos;
  let headersEnd = -1;
  let clRecord = -1, clCount = 0;
  let badLine: string | null = null;
  bareCrLf = false;
  while (pos < n) {
    if (s.charCodeAt(pos) === 0x0d && s.charCodeAt(pos + 1) === 0x0a) {
      headersEnd = pos;
      break;
    }
    const eol0 = lineEndAt(s, pos);
    if (eol0 < 0) break;
    // Fast path: a token name, optional blanks, then the colon. Token characters and
    // blanks exclude ':', CR and LF, so this colon is the line's first one.
    let nameEnd = pos;
    let c = s.charCodeAt(nameEnd);
    while (c < 256 && TOKEN[c] === 1) c = s.charCodeAt(++nameEnd);
    let colon = nameEnd;
    while (c === 0x20 || c === 0x09) c = s.charCodeAt(++colon);
    let id: number;
    if (c === 0x3a && nameEnd > pos) id = identify(s, pos, nameEnd);
    else {
      // A broken line is indexed as an unknown header (no value) and reported after.
      colon = s.indexOf(":", pos);
      if (colon < 0 || colon > eol0) {
        badLine ??= "header line without colon";
        nameEnd = eol0;
        colon = eol0 - 1;
        id = 0;
      } else {
        nameEnd = colon;
        while (nameEnd > pos && isWsp(s.charCodeAt(nameEnd - 1))) nameEnd--;
        // Always checked: identify folds case with | 0x20, which makes CR a '-'.
        id = identify(s, pos, nameEnd);
        if (!isToken(s, pos, nameEnd)) {
          id = 0;
          badLine ??= "bad header name";
        }
      }
    }
    let eol = eol0;
    while (isWsp(s.charCodeAt(eol + 2))) {
      eol = lineEndAt(s, eol + 2);
      if (eol < 0) throw fail("unterminated folded header", isResponse);
    }
    let vs = colon + 1;
    while (vs < eol && isLws(s.charCodeAt(vs))) vs++;
    let ve = eol;
    while (ve > vs && isLws(s.charCodeAt(ve - 1))) ve--;
    if (id === H_CONTENT_LENGTH && clCount++ === 0) clRecord = len;
    idx[len] = id;
    idx[len + 1] = pos;
    idx[len + 2] = nameEnd;
    idx[len + 3] = vs;
    idx[len + 4] = ve;
    idx[len + 5] = eol + 2;
    len += STRIDE;
    if (len > maxHeaders * STRIDE) {
      throw fail("too many header lines", isResponse, 513);
    }
    pos = eol + 2;
  }
  if (headersEnd < 0) throw fail("no empty line after the headers", isResponse);
  const index = idx.slice(0, len);
  if (bareCrLf) unsafe ??= "bare CR or LF in a header";
  // A NUL is the grammar's only as a quoted-pair inside a quoted string. One native
  // search over the rest of the message; NULs in the body are the body's business.
  for (
    let z = s.indexOf("\0", headersStart);
    z >= 0 && z < headersEnd;
    z = s.indexOf("\0", z + 1)
  ) {
    if (!isQuotedPair(s, index, z)) {
      unsafe ??= "NUL in a header";
      break;
    }
  }

  const bodyStart = headersEnd + 2;
  const msg = new SipMessage(
    bytes,
    s,
    p,
    !isResponse,
    method,
    uriStart,
    uriEnd,
    status,
    reasonStart,
    reasonEnd,
    headersStart,
    headersEnd,
    index,
    bodyStart,
    n,
  );
  const withPartial = (e: SipParseError): SipParseError => {
    e.partial = msg;
    return e;
  };
  if (unsafe !== null) {
    msg.unsafeOctets = true;
    deferred ??= fail(unsafe, isResponse);
  }
  if (badLine !== null) deferred ??= fail(badLine, isResponse);
  if (deferred !== null) throw withPartial(deferred);

  // Content-Length: at most one, 1 to 10 digits, and not past the end of the data. A bad
  // first value is reported before a repeated header.
  if (clCount > 0) {
    const cl = digitsValue(s, index[clRecord + F_VALUE], index[clRecord + F_VALUE_END], 10);
    if (cl < 0) throw withPartial(fail("bad Content-Length", isResponse));
    if (clCount > 1) throw withPartial(fail("several Content-Length headers", isResponse));
    if (bodyStart + cl > n) {
      throw withPartial(fail("Content-Length larger than the message", isResponse));
    }
    msg.bodyEnd = bodyStart + cl;
  } else if (options?.stream) {
    throw withPartial(fail("Content-Length missing on a stream", isResponse));
  }
  if (msg.bodyEnd - p > (options?.maxBytes ?? 65535)) {
    throw withPartial(fail("message too large", isResponse, 513));
  }
  return msg;
}

/**
 * Header index of the message being parsed, reused (writing at its length appends) and
 * copied out once per message: cheaper than pushing into a fresh array in both engines,
 * and unlike an Int32Array cheap to allocate under V8.
 */
const scratch: number[] = [];

function fail(why: string, isResponse: boolean, status = 400): SipParseError {
  return new SipParseError(why, status, isResponse);
}

/** Set by lineEndAt when a header line holds a bare CR or LF. */
let bareCrLf = false;

/**
 * Offset of the CRLF ending the line at i, or -1 when there is none. Searching for the
 * single LF is faster than for "\r\n". A bare LF or CR before it is no line end (RFC
 * 3261 §7) but a receiver may take it for one (header injection): bareCrLf is set, and
 * the search goes on past a bare LF as a lenient reader's would.
 */
function lineEndAt(s: string, i: number): number {
  const lf = s.indexOf("\n", i);
  if (lf < 0) return -1;
  if (s.charCodeAt(lf - 1) === 0x0d && s.indexOf("\r", i) === lf - 1) return lf - 1;
  bareCrLf = true;
  for (let j = lf; j >= 0; j = s.indexOf("\n", j + 1)) {
    if (s.charCodeAt(j - 1) === 0x0d) return j - 1;
  }
  return -1;
}

/** Whether the NUL at z is escaped (`\\` NUL) inside a quoted string of its header line. */
function isQuotedPair(s: string, index: number[], z: number): boolean {
  for (let r = 0; r < index.length; r += STRIDE) {
    if (z >= index[r + F_LINE_END]) continue;
    let quoted = false;
    for (let i = index[r + F_VALUE]; i < z; i++) {
      const c = s.charCodeAt(i);
      if (!quoted) quoted = c === 0x22;
      else if (c === 0x22) quoted = false;
      else if (c === 0x5c && ++i === z) return true;
    }
    return false;
  }
  return false;
}

/** "sip"/"sips"/"tel" when the URI at i starts with one (any case), without allocating. */
function routableScheme(s: string, i: number): string | null {
  const c0 = s.charCodeAt(i) | 0x20, c1 = s.charCodeAt(i + 1) | 0x20;
  const c2 = s.charCodeAt(i + 2) | 0x20, c3 = s.charCodeAt(i + 3);
  if (c0 === 0x73 && c1 === 0x69 && c2 === 0x70) {
    if (c3 === 0x3a) return "sip";
    if ((c3 | 0x20) === 0x73 && s.charCodeAt(i + 4) === 0x3a) return "sips";
  } else if (c0 === 0x74 && c1 === 0x65 && c2 === 0x6c && c3 === 0x3a) return "tel";
  return null;
}

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Whether s[a, b) is "SIP/2.0" in any letter case (as `toUpperCase() === "SIP/2.0"`: no
 * octet above 0x7f upper-cases to an ASCII letter, and ß would become two letters).
 */
function isSip20(s: string, a: number, b: number): boolean {
  return b - a === 7 && (s.charCodeAt(a) | 0x20) === 0x73 &&
    (s.charCodeAt(a + 1) | 0x20) === 0x69 &&
    (s.charCodeAt(a + 2) | 0x20) === 0x70 && s.startsWith("/2.0", a + 3);
}

function skipSpaces(s: string, i: number, end: number): number {
  while (i < end && s.charCodeAt(i) === 0x20) i++;
  return i;
}

/** A Request-URI holds no whitespace, controls, quotes or angle brackets. */
function cleanUri(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22) return false;
  }
  return true;
}
