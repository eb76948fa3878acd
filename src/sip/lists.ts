// Low-level scanning shared by the header decoders: comma splitting that respects
// quotes and angle brackets, and `;name=value` parameter lists.

import { malformed } from "./errors.ts";
import { TOKEN } from "./header-names.ts";

/** Linear whitespace inside a (possibly folded) header value. */
export function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Splits s[a, b) at commas outside quoted strings and `<...>`, appending trimmed
 * [start, end) pairs to out. Empty elements are kept (start === end) so strict
 * callers can reject them. Throws on an unterminated quote or bracket.
 */
export function splitRanges(s: string, a: number, b: number, out: number[]): void {
  let start = a;
  let quoted = false;
  let angle = false;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++; // quoted-pair: skip the escaped octet
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      pushTrimmed(s, start, i, out);
      start = i + 1;
    }
  }
  if (quoted) throw malformed("unterminated quoted string");
  if (angle) throw malformed("unterminated <");
  pushTrimmed(s, start, b, out);
}

function pushTrimmed(s: string, a: number, b: number, out: number[]): void {
  while (a < b && isLws(s.charCodeAt(a))) a++;
  while (b > a && isLws(s.charCodeAt(b - 1))) b--;
  out.push(a, b);
}

/**
 * s.slice(a, b).toLowerCase(), skipping the native call (costly on a fresh slice) when
 * the range holds no ASCII upper case and no octet above 0x7f (where it maps latin1).
 */
export function lowerSlice(s: string, a: number, b: number): string {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c > 0x7f) return s.slice(a, b).toLowerCase();
  }
  return s.slice(a, b);
}

/** s.slice(a, b).toUpperCase(), skipping the native call when nothing would change. */
export function upperSlice(s: string, a: number, b: number): string {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || c > 0x7f) return s.slice(a, b).toUpperCase();
  }
  return s.slice(a, b);
}

/** Value of s[a, b) when it is 1 to maxDigits ASCII digits, else -1. */
export function digitsValue(s: string, a: number, b: number, maxDigits: number): number {
  if (b <= a || b - a > maxDigits) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** End of the run of ASCII digits starting at i (i itself when there is none). */
export function digitsEnd(s: string, i: number, n: number): number {
  while (i < n) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) break;
    i++;
  }
  return i;
}

/**
 * The port in the digits s[a, b) (the caller scanned them, e.g. with digitsEnd). Throws
 * SipParseError unless there are 1 to 5 and the value is at most 65535; `where` ("" or
 * "Via ") names the place in the message.
 */
export function portNumber(s: string, a: number, b: number, where: string): number {
  if (b === a || b - a > 5) throw malformed(`bad ${where}port`);
  const p = digitsValue(s, a, b, 5);
  if (p > 65535) throw malformed(`${where}port out of range`);
  return p;
}

/** Replaces folding (CRLF + whitespace) with a single space. */
export function unfold(v: string): string {
  return v.indexOf("\r") === -1 ? v : v.replace(/[ \t]*\r\n[ \t]+/g, " ");
}

/** Index of the first non-LWS position at or after i. */
export function skipLws(s: string, i: number, n: number): number {
  while (i < n && isLws(s.charCodeAt(i))) i++;
  return i;
}

/** End of the token starting at i (i itself when there is none). */
export function tokenEnd(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) break;
    i++;
  }
  return i;
}

/** End of a quoted string whose opening quote is at i (position after the closing quote). */
export function quotedEnd(s: string, i: number, n: number): number {
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) j++;
    else if (c === 0x22) return j + 1;
  }
  throw malformed("unterminated quoted string");
}

/** Removes the quotes and quoted-pair escapes of a quoted-string. */
export function unquote(q: string): string {
  if (q.indexOf("\\") === -1) return q.slice(1, q.length - 1);
  let out = "";
  for (let j = 1; j < q.length - 1; j++) {
    const c = q[j];
    if (c === "\\" && j + 1 < q.length - 1) out += q[++j];
    else out += c;
  }
  return out;
}

/** Parameter names seen on nearly every message, as shared (already hashed) strings. */
const COMMON_PARAMS = ["branch", "rport", "received", "tag", "lr", "transport", "maddr", "ttl"];

/**
 * Lowercase parameter name of s[a, b). A common name written in lowercase comes back as
 * the shared constant: a fresh slice would have to be hashed again as a Map key.
 */
function paramName(s: string, a: number, b: number): string {
  const n = b - a;
  for (let k = 0; k < COMMON_PARAMS.length; k++) {
    const p = COMMON_PARAMS[k];
    if (p.length === n && s.startsWith(p, a)) return p;
  }
  return lowerSlice(s, a, b);
}

/**
 * Parses `*( SEMI generic-param )` from s[i, n) into params (lowercase names;
 * value null when absent; quoted values keep their quotes). Returns the position where
 * the list ended: n, or the first character that cannot continue it. Throws on an
 * empty or non-token parameter name.
 */
export function parseParams(
  s: string,
  i: number,
  n: number,
  params: Map<string, string | null>,
): number {
  i = skipLws(s, i, n);
  while (i < n && s.charCodeAt(i) === 0x3b) {
    i = skipLws(s, i + 1, n);
    const ne = tokenEnd(s, i, n);
    if (ne === i) throw malformed("empty parameter name");
    const name = paramName(s, i, ne);
    i = skipLws(s, ne, n);
    let value: string | null = null;
    if (i < n && s.charCodeAt(i) === 0x3d) {
      i = skipLws(s, i + 1, n);
      if (i < n && s.charCodeAt(i) === 0x22) {
        const qe = quotedEnd(s, i, n);
        value = s.slice(i, qe);
        i = qe;
      } else {
        let ve = i;
        while (ve < n) {
          const c = s.charCodeAt(ve);
          if (isLws(c) || c === 0x3b || c === 0x2c || c === 0x3f || c === 0x3e) break;
          ve++;
        }
        if (ve === i) throw malformed(`empty value for parameter ${name}`);
        value = s.slice(i, ve);
        i = ve;
      }
    }
    params.set(name, value);
    i = skipLws(s, i, n);
  }
  return i;
}
