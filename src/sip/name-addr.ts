// name-addr / addr-spec with header parameters: From, To, Contact, Route,
// Record-Route (RFC 3261 §20.10, §25.1).

import { malformed } from "./errors.ts";
import { isLws, parseParams, quotedEnd, skipLws, unquote } from "./lists.ts";
import { readable } from "./text.ts";

/** One name-addr (or bare addr-spec) with its header parameters. */
export interface NameAddr {
  /** Display name, unquoted and UTF-8 decoded; null when absent. */
  displayName: string | null;
  /** The URI exactly as written, without the angle brackets. */
  uri: string;
  /** Header parameters after the URI (tag, lr is a URI param, not here), lowercase names. */
  params: Map<string, string | null>;
  /** The `tag` parameter, or null. */
  tag: string | null;
  /** True when the URI was inside `<>`. */
  bracketed: boolean;
  /** The element's text as received (unfolded). */
  raw: string;
}

/**
 * Parses one name-addr or addr-spec. Lenient where RFC 4475 allows (unquoted display
 * names with odd characters, spaces inside `<>`), strict on quotes and brackets.
 */
export function parseNameAddr(s: string): NameAddr {
  return parseNameAddrIn(s, 0, s.length, s);
}

/** parseNameAddr of s[a, n), which is `raw` (unfolded), scanned inside s. */
export function parseNameAddrIn(s: string, a: number, n: number, raw: string): NameAddr {
  let i = skipLws(s, a, n);
  let displayName: string | null = null;
  let uri: string;
  let bracketed = false;
  const lt = findOpenAngle(s, i, n);
  if (lt >= 0) {
    if (i < n && s.charCodeAt(i) === 0x22) {
      const qe = quotedEnd(s, i, n);
      displayName = readable(unquote(s.slice(i, qe)));
      if (skipLws(s, qe, n) !== lt) throw malformed("junk between display name and <");
    } else if (lt > i) {
      let de = lt;
      while (de > i && isLws(s.charCodeAt(de - 1))) de--;
      displayName = readable(s.slice(i, de));
    }
    const gt = s.indexOf(">", lt);
    if (gt < 0 || gt >= n) throw malformed("unterminated <");
    uri = s.slice(skipLws(s, lt + 1, gt), trimEnd(s, lt + 1, gt));
    bracketed = true;
    i = gt + 1;
  } else {
    // addr-spec: the URI runs to the first ';' (after it come header parameters)
    let e = i;
    while (e < n && s.charCodeAt(e) !== 0x3b && !isLws(s.charCodeAt(e))) e++;
    uri = s.slice(i, e);
    i = e;
  }
  if (uri === "") throw malformed("empty URI");
  if (uri.indexOf(":") < 0) throw malformed("URI without scheme");
  const params = new Map<string, string | null>();
  i = parseParams(s, i, n, params);
  if (i !== n) throw malformed("junk after name-addr");
  return { displayName, uri, params, tag: params.get("tag") ?? null, bracketed, raw };
}

/** Position of the '<' opening the URI, skipping a leading quoted display name; or -1. */
function findOpenAngle(s: string, i: number, n: number): number {
  if (i < n && s.charCodeAt(i) === 0x22) i = quotedEnd(s, i, n);
  for (let j = i; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x3c) return j;
    if (c === 0x3b || c === 0x22) return -1;
  }
  return -1;
}

function trimEnd(s: string, a: number, b: number): number {
  while (b > a && isLws(s.charCodeAt(b - 1))) b--;
  return b;
}
