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
  let out = "";
  for (let j = 1; j < q.length - 1; j++) {
    const c = q[j];
    if (c === "\\" && j + 1 < q.length - 1) out += q[++j];
    else out += c;
  }
  return out;
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
    const name = s.slice(i, ne).toLowerCase();
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
