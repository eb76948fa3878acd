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
  // Splices: [start, end) of the original replaced by text; inserts have start === end.
  private starts: number[] = [];
  private ends: number[] = [];
  private texts: string[] = [];
  private viaPops = 0;
  private routePops = 0;
  private deleted: Set<number> | null = null;
  private mfLine = -2;

  constructor(readonly msg: SipMessage) {}

  private splice(start: number, end: number, text: string): this {
    this.starts.push(start);
    this.ends.push(end);
    this.texts.push(text);
    return this;
  }

  private lineStart(k: number): number {
    return this.msg.index[k * STRIDE + F_LINE];
  }

  /** Inserts a header line before the first line of id, else at the top of the headers. */
  private insertBefore(id: number, line: string): this {
    const k = this.msg.firstLineOfId(id);
    return this.splice(k >= 0 ? this.lineStart(k) : this.msg.headersStart, -1, line);
  }

  /** Adds a Via on top (value without the name, e.g. `SIP/2.0/UDP host;branch=z9hG4bK…`). */
  pushVia(value: string): this {
    return this.insertBefore(H_VIA, `Via: ${toByteString(value)}\r\n`);
  }

  /** Removes the top Via entry (responses travelling back). */
  popVia(): this {
    this.viaPops++;
    return this;
  }

  /** Adds a Record-Route on top (value e.g. `<sip:proxy.example.com;lr>`). */
  pushRecordRoute(value: string): this {
    return this.insertBefore(H_RECORD_ROUTE, `Record-Route: ${toByteString(value)}\r\n`);
  }

  /** Removes the top Route entry (RFC 3261 §16.4 when it names this proxy). */
  popRoute(): this {
    this.routePops++;
    return this;
  }

  /** Adds a Route on top (value e.g. `<sip:next.example.com;lr>`). */
  pushRoute(value: string): this {
    return this.insertBefore(H_ROUTE, `Route: ${toByteString(value)}\r\n`);
  }

  /** Replaces the Request-URI. */
  setRequestUri(uri: string): this {
    if (!this.msg.isRequest) throw malformed("setRequestUri on a response");
    return this.splice(this.msg.uriStart, this.msg.uriEnd, toByteString(uri));
  }

  /** Sets Max-Forwards, rewriting the existing value or inserting the header. */
  setMaxForwards(n: number): this {
    if (this.mfLine === -2) this.mfLine = this.msg.firstLineOfId(H_MAX_FORWARDS);
    const k = this.mfLine;
    if (k < 0) return this.insertBefore(H_VIA, `Max-Forwards: ${n}\r\n`);
    const r = k * STRIDE;
    return this.splice(this.msg.index[r + F_VALUE], this.msg.index[r + F_VALUE_END], `${n}`);
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
      this.deleted ??= new Set();
      for (const k of lines) this.deleted.add(k);
    }
    return this;
  }

  /** Appends a header line at the end of the headers. */
  addHeader(name: string, value: string): this {
    return this.splice(
      this.msg.headersEnd,
      -1,
      `${toByteString(name)}: ${toByteString(value)}\r\n`,
    );
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
    const ranges = this.lineRanges(k);
    const a = ranges[0], b = ranges[1];
    const entry = this.msg.src.slice(a, b);
    return this.splice(a, b, rewriteViaParams(entry, toByteString(host), port));
  }

  /** Element ranges of line k as flat [start, end) pairs (msg.elementRanges without tuples). */
  private lineRanges(k: number): number[] {
    const r = k * STRIDE;
    const out: number[] = [];
    splitRanges(this.msg.src, this.msg.index[r + F_VALUE], this.msg.index[r + F_VALUE_END], out);
    return out;
  }

  /** Edits one popped list header (Via/Route): whole lines or a leading cut of a line. */
  private applyPops(id: number, count: number): void {
    const msg = this.msg;
    for (const k of msg.linesOfId(id)) {
      if (count <= 0) return;
      if (this.deleted?.has(k)) continue;
      const ranges = this.lineRanges(k);
      const elements = ranges.length / 2;
      if (count >= elements) {
        count -= elements;
        this.deleteLine(k);
      } else {
        this.splice(ranges[0], ranges[2 * count], "");
        return;
      }
    }
  }

  private deleteLine(k: number): void {
    const r = k * STRIDE;
    this.splice(this.msg.index[r + F_LINE], this.msg.index[r + F_LINE_END], "");
  }

  /** The edited message as new bytes (start line through body; no trailing junk). */
  toBytes(): Uint8Array {
    const msg = this.msg;
    if (this.viaPops > 0) this.applyPops(H_VIA, this.viaPops);
    if (this.routePops > 0) this.applyPops(H_ROUTE, this.routePops);
    this.viaPops = this.routePops = 0;
    if (this.deleted !== null) {
      // A deleted line swallows the edits inside it.
      for (const k of this.deleted) {
        const r = k * STRIDE;
        const ls = msg.index[r + F_LINE], le = msg.index[r + F_LINE_END];
        for (let j = 0; j < this.starts.length; j++) {
          if (this.starts[j] >= ls && this.ends[j] <= le && this.ends[j] !== -1) {
            this.texts[j] = "";
            this.ends[j] = this.starts[j];
          }
        }
        this.splice(ls, le, "");
      }
      this.deleted = null;
    }
    const count = this.starts.length;
    const order: number[] = [];
    for (let j = 0; j < count; j++) {
      // insertion sort by start, inserts (end -1) before replacements, then call order
      let at = order.length;
      while (at > 0 && this.after(order[at - 1], j)) at--;
      order.splice(at, 0, j);
    }
    let size = msg.bodyEnd - msg.start;
    for (let j = 0; j < count; j++) {
      const end = this.ends[j];
      size += this.texts[j].length - (end === -1 ? 0 : end - this.starts[j]);
    }
    const out = new Uint8Array(size);
    const src = msg.bytes;
    let from = msg.start;
    let pos = 0;
    for (const j of order) {
      const start = this.starts[j];
      if (start < from) continue; // overlapped by an earlier edit
      if (start > from) pos = copyRange(src, from, start, out, pos);
      pos = writeByteString(out, pos, this.texts[j]);
      from = this.ends[j] === -1 ? start : this.ends[j];
    }
    pos = copyRange(src, from, msg.bodyEnd, out, pos);
    return pos === size ? out : out.subarray(0, pos);
  }

  /** Whether splice x must come after splice y. */
  private after(x: number, y: number): boolean {
    const sx = this.starts[x], sy = this.starts[y];
    if (sx !== sy) return sx > sy;
    const ix = this.ends[x] === -1, iy = this.ends[y] === -1;
    if (ix !== iy) return iy; // inserts first
    return x > y;
  }
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
