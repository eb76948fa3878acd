// A parsed SIP message: an index over the original bytes. Only the start line and the
// header line positions are computed when parsing; every typed view is decoded on first
// use and cached.

import { malformed } from "./errors.ts";
import {
  canonicalName,
  H_CALL_ID,
  H_CONTACT,
  H_CONTENT_LENGTH,
  H_CSEQ,
  H_FROM,
  H_MAX_FORWARDS,
  H_PROXY_REQUIRE,
  H_RECORD_ROUTE,
  H_ROUTE,
  H_TO,
  H_VIA,
  H_X_GENESYS_ROUTE,
  identify,
  isListHeader,
} from "./header-names.ts";
import { digitsValue, splitRanges, unfold } from "./lists.ts";
import { type NameAddr, parseNameAddrIn } from "./name-addr.ts";
import { readable } from "./text.ts";
import { parseUri, type SipUri } from "./uri.ts";
import { parseViaIn, type Via } from "./via.ts";

/** CSeq header value. */
export interface CSeq {
  seq: number;
  method: string;
}

/** Fields per header line in SipMessage.index. */
export const STRIDE = 6;
/** Offsets inside a header record. */
export const F_ID = 0, F_LINE = 1, F_NAME_END = 2, F_VALUE = 3, F_VALUE_END = 4, F_LINE_END = 5;

/** Element ranges of the header line being split (reused: splitting never nests). */
const ranges: number[] = [];

/** Largest CSeq number (RFC 3261 §8.1.1.5: less than 2**31; we accept < 2**32). */
const MAX_CSEQ = 0xffffffff;

/**
 * A SIP request or response over its original bytes. Construct with parseMessage.
 * Accessors of header contents throw SipParseError (status 400) when that header is
 * malformed; requestRejection/responseRejection check the ones a proxy relies on.
 */
export class SipMessage {
  /** Lazily computed views. */
  #vias: Via[] | undefined;
  #topVia: Via | null | undefined;
  #from: NameAddr | null | undefined;
  #to: NameAddr | null | undefined;
  #cseq: CSeq | null | undefined;
  #uri: SipUri | undefined;
  #routes: NameAddr[] | undefined;
  #recordRoutes: NameAddr[] | undefined;
  #contacts: NameAddr[] | undefined;
  #maxForwards: number | null | undefined;
  /** A header holds NUL, bare CR or bare LF: refused; answers built from it blank them. */
  unsafeOctets = false;

  /** @internal use parseMessage */
  constructor(
    /** The buffer the message was parsed from (may extend past the message). */
    readonly bytes: Uint8Array,
    /** bytes as a byte string (char i = byte i). */
    readonly src: string,
    /** Offset of the start line (leading CRLFs skipped). */
    readonly start: number,
    readonly isRequest: boolean,
    /** Request method ("" for a response). */
    readonly method: string,
    /** Offsets of the Request-URI in the start line (0, 0 for a response). */
    readonly uriStart: number,
    readonly uriEnd: number,
    /** Status code (0 for a request). */
    readonly status: number,
    /** Offsets of the reason phrase (responses). */
    readonly reasonStart: number,
    readonly reasonEnd: number,
    /** Offset just past the start line's CRLF = first header line. */
    readonly headersStart: number,
    /** Offset of the CRLF of the empty line that ends the headers. */
    readonly headersEnd: number,
    /** Header lines: STRIDE numbers each (id, line, name end, value, value end, line end). */
    readonly index: number[],
    /** Body offsets in bytes. */
    public bodyStart: number,
    public bodyEnd: number,
  ) {}

  /** True for a response. */
  get isResponse(): boolean {
    return !this.isRequest;
  }

  /** Request-URI exactly as received ("" for a response). */
  get requestUri(): string {
    return this.src.slice(this.uriStart, this.uriEnd);
  }

  /** Parsed Request-URI (throws SipParseError 400 if malformed). */
  get uri(): SipUri {
    return (this.#uri ??= parseUri(this.requestUri));
  }

  /** Reason phrase, UTF-8 decoded ("" for a request). */
  get reason(): string {
    return readable(this.src.slice(this.reasonStart, this.reasonEnd));
  }

  /** The start line as received, without CRLF. */
  get startLine(): string {
    return this.src.slice(this.start, this.headersStart - 2);
  }

  /** Number of header lines. */
  get headerCount(): number {
    return this.index.length / STRIDE;
  }

  /** Total message length in bytes (start line through body; trailing junk excluded). */
  get byteLength(): number {
    return this.bodyEnd - this.start;
  }

  /** The message's own bytes (a view). */
  get raw(): Uint8Array {
    return this.bytes.subarray(this.start, this.bodyEnd);
  }

  /** The body (a view over the original bytes). */
  get body(): Uint8Array {
    return this.bytes.subarray(this.bodyStart, this.bodyEnd);
  }

  /** Header name of line k as written. */
  nameAt(k: number): string {
    const r = k * STRIDE;
    return this.src.slice(this.index[r + F_LINE], this.index[r + F_NAME_END]);
  }

  /** Unfolded value of line k. */
  valueAt(k: number): string {
    const r = k * STRIDE;
    return unfold(this.src.slice(this.index[r + F_VALUE], this.index[r + F_VALUE_END]));
  }

  /** Value of line k as received (folding kept), as a byte string. */
  valueAtRaw(k: number): string {
    const r = k * STRIDE;
    return this.src.slice(this.index[r + F_VALUE], this.index[r + F_VALUE_END]);
  }

  /** Indices of the lines of a header, by id (known) or name (any). */
  linesOf(name: string): number[] {
    const canon = canonicalName(name);
    const id = identify(canon, 0, canon.length);
    const out: number[] = [];
    const idx = this.index;
    for (let r = 0, k = 0; r < idx.length; r += STRIDE, k++) {
      if (id !== 0 ? idx[r] === id : idx[r] === 0 && this.#nameIs(r, canon)) out.push(k);
    }
    return out;
  }

  /** Line indices of a known header id. */
  linesOfId(id: number): number[] {
    const out: number[] = [];
    const idx = this.index;
    for (let r = 0, k = 0; r < idx.length; r += STRIDE, k++) if (idx[r] === id) out.push(k);
    return out;
  }

  /** First line index of a known header id, or -1. */
  firstLineOfId(id: number): number {
    const idx = this.index;
    for (let r = 0; r < idx.length; r += STRIDE) if (idx[r] === id) return r / STRIDE;
    return -1;
  }

  #nameIs(r: number, canon: string): boolean {
    const a = this.index[r + F_LINE], b = this.index[r + F_NAME_END];
    if (b - a !== canon.length) return false;
    return this.src.slice(a, b).toLowerCase() === canon;
  }

  /** Whether the header is present (any form of its name). */
  has(name: string): boolean {
    return this.linesOf(name).length > 0;
  }

  /**
   * First value of a header: the first comma-separated element for list headers, the
   * whole (unfolded) value of the first line otherwise; null when absent.
   */
  header(name: string): string | null {
    const lines = this.linesOf(name);
    if (lines.length === 0) return null;
    if (isListHeader(canonicalName(name))) {
      const vals = this.headerValues(name);
      return vals.length > 0 ? vals[0] : "";
    }
    return this.valueAt(lines[0]);
  }

  /**
   * All values of a header in order: list headers are split at top-level commas
   * (never inside quotes or `<>`) with empty elements dropped; other headers (and the
   * WWW-Authenticate/Authorization family) give one value per line.
   */
  headerValues(name: string): string[] {
    const lines = this.linesOf(name);
    const out: string[] = [];
    const split = isListHeader(canonicalName(name));
    for (const k of lines) {
      if (!split) {
        out.push(this.valueAt(k));
        continue;
      }
      for (const [a, b] of this.elementRanges(k)) {
        if (b > a) out.push(unfold(this.src.slice(a, b)));
      }
    }
    return out;
  }

  /** Comma-separated element ranges [start, end) of header line k, in src offsets. */
  elementRanges(k: number): [number, number][] {
    const r = k * STRIDE;
    const flat: number[] = [];
    splitRanges(this.src, this.index[r + F_VALUE], this.index[r + F_VALUE_END], flat);
    const out: [number, number][] = [];
    for (let j = 0; j < flat.length; j += 2) out.push([flat[j], flat[j + 1]]);
    return out;
  }

  /** Every header line as [name as written, unfolded value], in order. */
  headerList(): [string, string][] {
    const out: [string, string][] = [];
    for (let k = 0; k < this.headerCount; k++) out.push([this.nameAt(k), this.valueAt(k)]);
    return out;
  }

  /** [start, end) of every element of every line of id, flat; an empty element throws. */
  #elementRangesOfId(id: number): number[] {
    const out: number[] = [];
    const idx = this.index, s = this.src;
    for (let r = 0; r < idx.length; r += STRIDE) {
      if (idx[r] !== id) continue;
      ranges.length = 0;
      splitRanges(s, idx[r + F_VALUE], idx[r + F_VALUE_END], ranges);
      for (let j = 0; j < ranges.length; j += 2) {
        const a = ranges[j], b = ranges[j + 1];
        if (b === a) throw malformed(`empty element in ${canonicalName(this.nameAt(r / STRIDE))}`);
        out.push(a, b);
      }
    }
    return out;
  }

  #elementsOfId(id: number): string[] {
    const r = this.#elementRangesOfId(id);
    const out: string[] = [];
    for (let j = 0; j < r.length; j += 2) out.push(unfold(this.src.slice(r[j], r[j + 1])));
    return out;
  }

  /**
   * Decodes the text src[a, b) as decode(unfold(text)) would, but scanning it inside the
   * message text when it holds no folding: a fresh slice costs more to scan.
   */
  #decodeAt<T>(
    a: number,
    b: number,
    decode: (s: string, a: number, n: number, raw: string) => T,
  ): T {
    const s = this.src;
    const raw = s.slice(a, b);
    const cr = s.indexOf("\r", a);
    if (cr < 0 || cr >= b) return decode(s, a, b, raw);
    const u = unfold(raw);
    return decode(u, 0, u.length, u);
  }

  /** Decodes every element of the lines of id, top first. */
  #decodeElements<T>(
    id: number,
    decode: (s: string, a: number, n: number, raw: string) => T,
  ): T[] {
    const r = this.#elementRangesOfId(id);
    const out: T[] = [];
    for (let j = 0; j < r.length; j += 2) out.push(this.#decodeAt(r[j], r[j + 1], decode));
    return out;
  }

  /** Decodes the (single) value of the first line of id, or null when absent. */
  #decodeValue<T>(
    id: number,
    decode: (s: string, a: number, n: number, raw: string) => T,
  ): T | null {
    const k = this.firstLineOfId(id);
    if (k < 0) return null;
    const r = k * STRIDE;
    return this.#decodeAt(this.index[r + F_VALUE], this.index[r + F_VALUE_END], decode);
  }

  #singleValue(id: number): string | null {
    const k = this.firstLineOfId(id);
    return k < 0 ? null : this.valueAt(k);
  }

  /** Every Via entry, top first. Empty entries (`,,`) are a syntax error. */
  get vias(): Via[] {
    return (this.#vias ??= this.#decodeElements(H_VIA, parseViaIn));
  }

  /** The top Via, or null when there is none. */
  get topVia(): Via | null {
    if (this.#vias !== undefined) return this.#vias[0] ?? null;
    if (this.#topVia !== undefined) return this.#topVia;
    const k = this.firstLineOfId(H_VIA);
    if (k < 0) return (this.#topVia = null);
    // The whole line is split, so a malformed later entry on it fails here as well.
    const r = k * STRIDE;
    ranges.length = 0;
    splitRanges(this.src, this.index[r + F_VALUE], this.index[r + F_VALUE_END], ranges);
    const a = ranges[0], b = ranges[1];
    if (a === b) throw malformed("empty Via");
    return (this.#topVia = this.#decodeAt(a, b, parseViaIn));
  }

  /** From header, or null when absent. */
  get from(): NameAddr | null {
    if (this.#from === undefined) {
      this.#from = this.#decodeValue(H_FROM, parseNameAddrIn);
    }
    return this.#from;
  }

  /** To header, or null when absent. */
  get to(): NameAddr | null {
    if (this.#to === undefined) {
      this.#to = this.#decodeValue(H_TO, parseNameAddrIn);
    }
    return this.#to;
  }

  /** Call-ID value, or null when absent. */
  get callId(): string | null {
    return this.#singleValue(H_CALL_ID);
  }

  /** CSeq, or null when absent; throws when malformed or the number is >= 2**32. */
  get cseq(): CSeq | null {
    if (this.#cseq === undefined) {
      const v = this.#singleValue(H_CSEQ);
      if (v === null) this.#cseq = null;
      else {
        // 1-10 digits, blanks, then a method without blanks (up to the end).
        let d = 0;
        while (d < v.length && isDigit(v.charCodeAt(d))) d++;
        let m = d;
        while (m < v.length && isBlank(v.charCodeAt(m))) m++;
        let e = m;
        while (e < v.length && !isBlank(v.charCodeAt(e))) e++;
        if (d === 0 || d > 10 || m === d || e === m || e !== v.length) {
          throw malformed("malformed CSeq");
        }
        const seq = digitsValue(v, 0, d, 10);
        if (seq > MAX_CSEQ) throw malformed("CSeq number too large");
        this.#cseq = { seq, method: v.slice(m) };
      }
    }
    return this.#cseq;
  }

  /** Max-Forwards (0..255), or null when absent; throws when malformed or too large. */
  get maxForwards(): number | null {
    if (this.#maxForwards === undefined) {
      const v = this.#singleValue(H_MAX_FORWARDS);
      if (v === null) this.#maxForwards = null;
      else {
        const n = digitsValue(v, 0, v.length, 10);
        if (n < 0) throw malformed("malformed Max-Forwards");
        if (n > 255) throw malformed("Max-Forwards above 255");
        this.#maxForwards = n;
      }
    }
    return this.#maxForwards;
  }

  /** Content-Length as declared, or null when absent (validated while parsing). */
  get contentLength(): number | null {
    const v = this.#singleValue(H_CONTENT_LENGTH);
    return v === null ? null : Number(v);
  }

  /** Route entries, top first. */
  get routes(): NameAddr[] {
    return (this.#routes ??= this.#decodeElements(H_ROUTE, parseNameAddrIn));
  }

  /** Record-Route entries, top first. */
  get recordRoutes(): NameAddr[] {
    return (this.#recordRoutes ??= this.#decodeElements(H_RECORD_ROUTE, parseNameAddrIn));
  }

  /** Contact entries (a `*` Contact yields one entry whose uri is "*"). */
  get contacts(): NameAddr[] {
    if (this.#contacts === undefined) {
      this.#contacts = this.#decodeElements(H_CONTACT, (s, a, n, raw) =>
        raw === "*"
          ? {
            displayName: null,
            uri: "*",
            params: new Map(),
            tag: null,
            bracketed: false,
            raw,
          }
          : parseNameAddrIn(s, a, n, raw));
    }
    return this.#contacts;
  }

  /** Proxy-Require option tags. */
  get proxyRequire(): string[] {
    return this.#elementsOfId(H_PROXY_REQUIRE);
  }

  /** X-Genesys-Route value (first line), or null when absent. */
  get xGenesysRoute(): string | null {
    // Not a list header: the first line's whole value, as header() gives it.
    return this.#singleValue(H_X_GENESYS_ROUTE);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}
