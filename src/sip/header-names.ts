// Header name identification without allocating: each header line gets a small
// integer id (0 = not a header this layer knows), computed by comparing characters
// case-insensitively against a table bucketed by name length.

/** Whether headerValues splits a header's value at top-level commas (list grammar). */
const LIST = true;
const WHOLE = false;

/**
 * The headers this layer knows, by canonical (lowercase) name, and whether each is a
 * comma-separated list. Ids follow this order: id = position + 1.
 */
const KNOWN_HEADERS = {
  via: LIST,
  from: WHOLE,
  to: WHOLE,
  "call-id": WHOLE,
  cseq: WHOLE,
  "max-forwards": WHOLE,
  "content-length": WHOLE,
  route: LIST,
  "record-route": LIST,
  contact: LIST,
  "proxy-require": LIST,
  "x-genesys-route": WHOLE,
  "content-type": WHOLE,
  require: LIST,
  supported: LIST,
  unsupported: LIST,
  subject: WHOLE,
  "content-encoding": LIST,
  event: WHOLE,
  "allow-events": LIST,
  "refer-to": WHOLE,
  "referred-by": WHOLE,
  "session-expires": WHOLE,
  identity: WHOLE,
  "accept-contact": LIST,
  "reject-contact": LIST,
  "request-disposition": LIST,
  "www-authenticate": WHOLE,
  authorization: WHOLE,
  "proxy-authenticate": WHOLE,
  "proxy-authorization": WHOLE,
  expires: WHOLE,
  allow: LIST,
  accept: LIST,
  "accept-encoding": LIST,
  "accept-language": LIST,
  "content-language": LIST,
  "alert-info": LIST,
  "call-info": LIST,
  "error-info": LIST,
  "in-reply-to": LIST,
  warning: LIST,
  path: LIST,
  "service-route": LIST,
  "user-agent": WHOLE,
  server: WHOLE,
  date: WHOLE,
  "retry-after": WHOLE,
  timestamp: WHOLE,
  "mime-version": WHOLE,
  "min-expires": WHOLE,
  organization: WHOLE,
  priority: WHOLE,
  "reply-to": WHOLE,
  "content-disposition": WHOLE,
  "security-client": LIST,
  "security-server": LIST,
  "security-verify": LIST,
  "p-asserted-identity": LIST,
  "p-preferred-identity": LIST,
  privacy: LIST,
  reason: LIST,
} as const;

export type KnownHeader = keyof typeof KNOWN_HEADERS;

const KNOWN = Object.keys(KNOWN_HEADERS) as KnownHeader[];

/** The id of each header the parser reads by id: its position in KNOWN_HEADERS, plus 1. */
const ids = (...names: KnownHeader[]): number[] => names.map((name) => KNOWN.indexOf(name) + 1);

// deno-fmt-ignore: one statement, so that the ids read as the list they are.
export const [H_VIA, H_FROM, H_TO, H_CALL_ID, H_CSEQ, H_MAX_FORWARDS, H_CONTENT_LENGTH,
  H_ROUTE, H_RECORD_ROUTE, H_CONTACT, H_PROXY_REQUIRE, H_X_GENESYS_ROUTE, H_EXPIRES,
  H_RETRY_AFTER] = ids("via", "from", "to", "call-id", "cseq", "max-forwards",
  "content-length", "route", "record-route", "contact", "proxy-require", "x-genesys-route",
  "expires", "retry-after");

/** Compact forms (RFC 3261 §7.3.3 and later RFCs) -> canonical name. */
const COMPACT: Record<string, KnownHeader> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
  o: "event",
  u: "allow-events",
  r: "refer-to",
  b: "referred-by",
  x: "session-expires",
  y: "identity",
  a: "accept-contact",
  j: "reject-contact",
  d: "request-disposition",
};

/** The list-shaped headers, as a set for the per-header lookup of headerValues. */
const LIST_HEADERS: ReadonlySet<string> = new Set(KNOWN.filter((name) => KNOWN_HEADERS[name]));

/** Headers that must appear at most once (RFC 3261 §7.3.1: not list-shaped). */
export const SINGLE_VALUE_IDS: readonly number[] = [
  H_FROM,
  H_TO,
  H_CALL_ID,
  H_CSEQ,
  H_MAX_FORWARDS,
  H_CONTENT_LENGTH,
];

const byLength: { name: string; id: number }[][] = [];
KNOWN.forEach((name, i) => {
  (byLength[name.length] ??= []).push({ name, id: i + 1 });
});
const compactIds: number[] = new Array(128).fill(0);
for (const [c, name] of Object.entries(COMPACT)) {
  compactIds[c.charCodeAt(0)] = KNOWN.indexOf(name) + 1;
}

// A direct-mapped table keyed by (length, first, last character) finds the single
// candidate for a name with three charCodeAt calls; -1 marks a collision (slow path).
const slotKey = (n: number, first: number, last: number): number =>
  ((n & 31) << 10) | ((first & 31) << 5) | (last & 31);
const slots = new Int16Array(32768);
KNOWN.forEach((name, i) => {
  const k = slotKey(name.length, name.charCodeAt(0), name.charCodeAt(name.length - 1));
  slots[k] = slots[k] === 0 ? i + 1 : -1;
});

/** Case-insensitive compare of s[a, a + cand.length) with a lowercase candidate. */
function sameName(s: string, a: number, cand: string): boolean {
  for (let i = 0; i < cand.length; i++) {
    // OR 0x20 folds ASCII upper case; token punctuation never folds onto a letter.
    if ((s.charCodeAt(a + i) | 0x20) !== cand.charCodeAt(i)) return false;
  }
  return true;
}

/** Id of the header whose name occupies s[a, b), or 0 (the caller checks it is a token). */
export function identify(s: string, a: number, b: number): number {
  const n = b - a;
  if (n === 1) {
    const c = s.charCodeAt(a) | 0x20;
    return c < 128 ? compactIds[c] : 0;
  }
  if (n <= 1) return 0;
  const slot = slots[slotKey(n, s.charCodeAt(a), s.charCodeAt(b - 1))];
  if (slot === 0) return 0;
  if (slot > 0) {
    const cand = KNOWN[slot - 1];
    return cand.length === n && sameName(s, a, cand) ? slot : 0;
  }
  const bucket = byLength[n];
  if (bucket === undefined) return 0;
  for (let k = 0; k < bucket.length; k++) {
    if (sameName(s, a, bucket[k].name)) return bucket[k].id;
  }
  return 0;
}

/** Canonical lowercase name for a caller-supplied header name (compact forms expanded). */
export function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

/** Id for a caller-supplied name (0 if unknown). */
export function idOfName(name: string): number {
  const c = canonicalName(name);
  return identify(c, 0, c.length);
}

/** Canonical name of a known id. */
export function nameOfId(id: number): string {
  return KNOWN[id - 1];
}

/** Whether headerValues should split the header on top-level commas. */
export function isListHeader(canonical: string): boolean {
  return LIST_HEADERS.has(canonical);
}

/** Token characters (RFC 3261 §25.1) as a lookup table. */
export const TOKEN: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "-.!%*_+`'~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** True when s[a, b) is a non-empty token. */
export function isToken(s: string, a: number, b: number): boolean {
  if (b <= a) return false;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) return false;
  }
  return true;
}
