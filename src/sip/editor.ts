// Forwarding edits as byte splices over the original message: everything not edited is
// copied verbatim, in its original order.

import { malformed } from "./errors.ts";
import {
  H_CONTENT_LENGTH,
  H_MAX_FORWARDS,
  H_RECORD_ROUTE,
  H_ROUTE,
  H_VIA,
} from "./header-names.ts";
import { isLws, splitRanges } from "./lists.ts";
import { F_LINE, F_LINE_END, F_VALUE, F_VALUE_END, type SipMessage, STRIDE } from "./message.ts";
import { toByteString, writeByteString } from "./text.ts";

/**
 * Collects edits to a parsed message and writes the result with toBytes(). Edits refer
 * to the message as parsed (e.g. two popRoute() calls remove the first two Route
 * entries); methods chain.
 */
export class MessageEditor {
  // Splices: [start, end) of the original (spans[2j], spans[2j + 1]; end -1 for an insert)
  // replaced by heads[j] + texts[j], plus CRLF when the head is not empty. Keeping a
  // header line's name apart from its value spares building the line as a new string.
  #spans: number[] = [];
  #heads: string[] = [];
  #texts: string[] = [];
  #viaPops = 0;
  #routePops = 0;
  #deleted: Set<number> | null = null;
  #mfLine = -2;

  constructor(readonly msg: SipMessage) {
    if (msg.isRequest) this.#canonicalRequestLine();
  }

  #splice(start: number, end: number, text: string, head = ""): this {
    this.#spans.push(start, end);
    this.#heads.push(head);
    this.#texts.push(text);
    return this;
  }

  #lineStart(k: number): number {
    return this.msg.index[k * STRIDE + F_LINE];
  }

  /**
   * Inserts the header line `head value CRLF` before the first line of id, else at the
   * top of the headers.
   */
  #insertBefore(id: number, head: string, value: string): this {
    const k = this.msg.firstLineOfId(id);
    return this.#splice(k >= 0 ? this.#lineStart(k) : this.msg.headersStart, -1, value, head);
  }

  /** Adds a Via on top (value without the name, e.g. `SIP/2.0/UDP host;branch=z9hG4bK…`). */
  pushVia(value: string): this {
    return this.#insertBefore(H_VIA, "Via: ", toByteString(value));
  }

  /** Removes the top Via entry (responses travelling back). */
  popVia(): this {
    this.#viaPops++;
    return this;
  }

  /** Adds a Record-Route on top (value e.g. `<sip:proxy.example.com;lr>`). */
  pushRecordRoute(value: string): this {
    return this.#insertBefore(H_RECORD_ROUTE, "Record-Route: ", toByteString(value));
  }

  /** Removes the top Route entry (RFC 3261 §16.4 when it names this proxy). */
  popRoute(): this {
    this.#routePops++;
    return this;
  }

  /** Adds a Route on top (value e.g. `<sip:next.example.com;lr>`). */
  pushRoute(value: string): this {
    return this.#insertBefore(H_ROUTE, "Route: ", toByteString(value));
  }

  /** Replaces the Request-URI. */
  setRequestUri(uri: string): this {
    if (!this.msg.isRequest) throw malformed("setRequestUri on a response");
    return this.#splice(this.msg.uriStart, this.msg.uriEnd, toByteString(uri));
  }

  /** Sets Max-Forwards, rewriting the existing value or inserting the header. */
  setMaxForwards(n: number): this {
    if (this.#mfLine === -2) this.#mfLine = this.msg.firstLineOfId(H_MAX_FORWARDS);
    const k = this.#mfLine;
    if (k < 0) return this.#insertBefore(H_VIA, "Max-Forwards: ", `${n}`);
    const r = k * STRIDE;
    return this.#splice(this.msg.index[r + F_VALUE], this.msg.index[r + F_VALUE_END], `${n}`);
  }

  /** Max-Forwards minus one, or 70 when absent (RFC 3261 §16.6 step 3). */
  decrementMaxForwards(): this {
    const mf = this.msg.maxForwards;
    return this.setMaxForwards(mf === null ? 70 : Math.max(0, mf - 1));
  }

  /** Removes every line of a header (any spelling, compact form included). */
  removeHeader(name: string): this {
    const lines = this.msg.linesOf(name);
    if (lines.length > 0) {
      this.#deleted ??= new Set();
      for (const k of lines) this.#deleted.add(k);
    }
    return this;
  }

  /** Appends a header line at the end of the headers. */
  addHeader(name: string, value: string): this {
    return this.#splice(this.msg.headersEnd, -1, toByteString(value), `${toByteString(name)}: `);
  }

  /** Adds Content-Length when the message has none (a datagram forwarded onto a stream). */
  ensureContentLength(): this {
    if (this.msg.firstLineOfId(H_CONTENT_LENGTH) >= 0) return this;
    return this.addHeader("Content-Length", `${this.msg.bodyEnd - this.msg.bodyStart}`);
  }

  /**
   * Writes `received` (RFC 3261 §18.2.1) and, when the top Via asked with a bare
   * `rport` and a port is given, its value (RFC 3581) into the top Via.
   */
  setTopViaReceived(host: string, port?: number): this {
    const k = this.msg.firstLineOfId(H_VIA);
    if (k < 0) return this;
    const ranges = this.#lineRanges(k);
    const a = ranges[0], b = ranges[1];
    const entry = this.msg.src.slice(a, b);
    return this.#splice(a, b, rewriteViaParams(entry, toByteString(host), port));
  }

  /**
   * Element ranges of line k as flat [start, end) pairs (msg.elementRanges without
   * tuples), in a shared list valid until the next call.
   */
  #lineRanges(k: number): number[] {
    const r = k * STRIDE;
    ranges.length = 0;
    splitRanges(this.msg.src, this.msg.index[r + F_VALUE], this.msg.index[r + F_VALUE_END], ranges);
    return ranges;
  }

  /** Edits one popped list header (Via/Route): whole lines or a leading cut of a line. */
  #applyPops(id: number, count: number): void {
    const idx = this.msg.index;
    for (let r = 0; r < idx.length; r += STRIDE) {
      if (idx[r] !== id) continue;
      if (count <= 0) return;
      const k = r / STRIDE;
      if (this.#deleted?.has(k)) continue;
      const ranges = this.#lineRanges(k);
      const elements = ranges.length / 2;
      if (count >= elements) {
        count -= elements;
        this.#deleteLine(k);
      } else {
        this.#splice(ranges[0], ranges[2 * count], "");
        return;
      }
    }
  }

  /**
   * Runs of spaces between the Request-Line's elements, or after it, and a version in
   * lower case are accepted (RFC 4475 §3.1.2.9-10 allow it) but not passed on: what we
   * send is `Method SP Request-URI SP SIP/2.0` exactly, as the grammar writes it.
   */
  #canonicalRequestLine(): void {
    const msg = this.msg;
    const methodEnd = msg.start + msg.method.length;
    if (msg.uriStart !== methodEnd + 1) this.#splice(methodEnd, msg.uriStart, " ");
    const lineEnd = msg.headersStart - 2;
    if (lineEnd - msg.uriEnd !== 8 || !msg.src.startsWith(" SIP/2.0", msg.uriEnd)) {
      this.#splice(msg.uriEnd, lineEnd, " SIP/2.0");
    }
  }

  #deleteLine(k: number): void {
    const r = k * STRIDE;
    this.#splice(this.msg.index[r + F_LINE], this.msg.index[r + F_LINE_END], "");
  }

  /** The edited message as new bytes (start line through body; no trailing junk). */
  toBytes(): Uint8Array {
    const msg = this.msg;
    if (this.#viaPops > 0) this.#applyPops(H_VIA, this.#viaPops);
    if (this.#routePops > 0) this.#applyPops(H_ROUTE, this.#routePops);
    this.#viaPops = this.#routePops = 0;
    if (this.#deleted !== null) {
      // A deleted line swallows the edits inside it.
      const spans = this.#spans;
      for (const k of this.#deleted) {
        const r = k * STRIDE;
        const ls = msg.index[r + F_LINE], le = msg.index[r + F_LINE_END];
        for (let j = 0; j < this.#texts.length; j++) {
          const start = spans[2 * j], end = spans[2 * j + 1];
          if (start >= ls && end <= le && end !== -1) {
            this.#texts[j] = "";
            spans[2 * j + 1] = start;
          }
        }
        this.#splice(ls, le, "");
      }
      this.#deleted = null;
    }
    const spans = this.#spans, heads = this.#heads, texts = this.#texts;
    const count = texts.length;
    // Insertion sort by start, inserts (end -1) before replacements, then call order.
    const order: number[] = [];
    let size = msg.bodyEnd - msg.start;
    for (let j = 0; j < count; j++) {
      let at = j;
      while (at > 0 && after(spans, order[at - 1], j)) {
        order[at] = order[at - 1];
        at--;
      }
      order[at] = j;
      const end = spans[2 * j + 1];
      const head = heads[j].length;
      size += head + texts[j].length + (head > 0 ? 2 : 0) -
        (end === -1 ? 0 : end - spans[2 * j]);
    }
    // Layout: where each kept run of the original goes, and where each splice's text.
    const runs = layoutRuns; // (source start, source end, destination) triples
    const puts = layoutPuts; // (splice, destination) pairs
    runs.length = puts.length = 0;
    let from = msg.start;
    let pos = 0;
    for (let o = 0; o < count; o++) {
      const j = order[o];
      const start = spans[2 * j];
      if (start < from) continue; // overlapped by an earlier edit
      if (start > from) {
        runs.push(from, start, pos);
        pos += start - from;
      }
      puts.push(j, pos);
      const head = heads[j].length;
      pos += head + texts[j].length + (head > 0 ? 2 : 0);
      const end = spans[2 * j + 1];
      from = end === -1 ? start : end;
    }
    if (msg.bodyEnd > from) {
      runs.push(from, msg.bodyEnd, pos);
      pos += msg.bodyEnd - from;
    }

    const out = new Uint8Array(size);
    const src = msg.bytes;
    const base = msg.start;
    if (pos === size && size >= msg.bodyEnd - base) {
      // Copy the whole original once, then move each run to its place inside the output
      // (copyWithin makes no view, unlike a subarray per run). Runs going left are moved
      // first in order, then runs going right in reverse order, so that no run is
      // overwritten before it has moved: targets are disjoint and in source order.
      if (base === 0 && msg.bodyEnd === src.length) out.set(src);
      else out.set(src.subarray(base, msg.bodyEnd));
      for (let r = 0; r < runs.length; r += 3) {
        const a = runs[r] - base, d = runs[r + 2];
        if (d < a) out.copyWithin(d, a, runs[r + 1] - base);
      }
      for (let r = runs.length - 3; r >= 0; r -= 3) {
        const a = runs[r] - base, d = runs[r + 2];
        if (d > a) out.copyWithin(d, a, runs[r + 1] - base);
      }
    } else {
      for (let r = 0; r < runs.length; r += 3) {
        copyRange(src, runs[r], runs[r + 1], out, runs[r + 2]);
      }
    }
    for (let p = 0; p < puts.length; p += 2) {
      const j = puts[p];
      let at = puts[p + 1];
      const head = heads[j];
      if (head.length > 0) at = writeByteString(out, at, head);
      at = writeByteString(out, at, texts[j]);
      if (head.length > 0) {
        out[at++] = 0x0d;
        out[at] = 0x0a;
      }
    }
    return pos === size ? out : out.subarray(0, pos);
  }
}

/** Output layout of the toBytes() call running (reused: it never nests). */
const layoutRuns: number[] = [];
const layoutPuts: number[] = [];

/** Element ranges of the line being edited (reused: splitting never nests). */
const ranges: number[] = [];

/** Whether splice x must come after splice y (spans as in MessageEditor). */
function after(spans: number[], x: number, y: number): boolean {
  const sx = spans[2 * x], sy = spans[2 * y];
  if (sx !== sy) return sx > sy;
  const ix = spans[2 * x + 1] === -1, iy = spans[2 * y + 1] === -1;
  if (ix !== iy) return iy; // inserts first
  return x > y;
}

/**
 * Copies src[a, b) to out at pos; returns the new position. Short runs are copied by
 * hand: a subarray view costs more than the loop below about 48 bytes.
 */
function copyRange(src: Uint8Array, a: number, b: number, out: Uint8Array, pos: number): number {
  if (b - a < 48) {
    for (let i = a; i < b; i++) out[pos++] = src[i];
    return pos;
  }
  out.set(src.subarray(a, b), pos);
  return pos + b - a;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Whether s at i holds the lowercase ASCII word w in any letter case. */
function wordAt(s: string, i: number, w: string): boolean {
  if (i + w.length > s.length) return false;
  for (let k = 0; k < w.length; k++) {
    if ((s.charCodeAt(i + k) | 0x20) !== w.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Rewrites `received`/`rport` in one Via entry, keeping every other byte. A scanner
 * equivalent to replacing, case-insensitively and globally,
 * `[ \t]*;[ \t]*(received|rport)(?=[ \t]*(?:[=;,]|$))(?:[ \t]*=[ \t]*[^;, \t]*)?`
 * with "" (rport only when a port is given).
 */
function rewriteViaParams(entry: string, host: string, port?: number): string {
  let askedRport = false;
  const n = entry.length;
  let out = "";
  let copied = 0; // entry[copied, …) is still to be copied
  let scanned = 0; // a match cannot start before the end of the previous one
  for (let semi = entry.indexOf(";"); semi >= 0; semi = entry.indexOf(";", semi + 1)) {
    let j = semi + 1;
    while (j < n && isBlank(entry.charCodeAt(j))) j++;
    const received = wordAt(entry, j, "received");
    if (!received && !wordAt(entry, j, "rport")) continue;
    const nameEnd = j + (received ? 8 : 5);
    let k = nameEnd;
    while (k < n && isBlank(entry.charCodeAt(k))) k++;
    const next = entry.charCodeAt(k);
    if (k < n && next !== 0x3d && next !== 0x3b && next !== 0x2c) continue;
    let end = nameEnd;
    if (next === 0x3d) {
      end = k + 1;
      while (end < n && isBlank(entry.charCodeAt(end))) end++;
      while (end < n) {
        const c = entry.charCodeAt(end);
        if (c === 0x3b || c === 0x2c || c === 0x20 || c === 0x09) break;
        end++;
      }
    }
    let start = semi;
    while (start > scanned && isBlank(entry.charCodeAt(start - 1))) start--;
    scanned = end;
    semi = end - 1;
    if (!received) {
      if (port === undefined) continue; // nothing to fill in: leave rport as it was
      askedRport = true;
    }
    out += entry.slice(copied, start);
    copied = end;
  }
  out = copied === 0 ? entry : out + entry.slice(copied);
  let end = out.length;
  while (end > 0 && isLws(out.charCodeAt(end - 1))) end--;
  out = out.slice(0, end) + `;received=${host}`;
  if (askedRport) out += `;rport=${port}`;
  return out;
}
