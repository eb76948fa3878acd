// Stream framing for TCP/TLS (RFC 3261 §18.3): whole messages out of a byte stream,
// keep-alive pings (RFC 5626 §3.5.1) answered, limits enforced.

import { byteString } from "./text.ts";

/** Limits of a StreamFramer. */
export interface FramerLimits {
  /** Largest header section (start line through the empty line). Default 16384. */
  maxHeaderBytes?: number;
  /** Largest body. Default 65536. */
  maxBodyBytes?: number;
}

/** What push() found in the stream. */
export type FramerEvent =
  /** One whole message (its own copy of the bytes). */
  | { type: "message"; bytes: Uint8Array }
  /** A double-CRLF ping arrived: send a single CRLF back. */
  | { type: "pong" }
  /** The stream is unusable (no Content-Length, limit exceeded): close the connection. */
  | { type: "error"; reason: string };

/** The CRLF a pong sends. */
export const PONG: Uint8Array = new Uint8Array([13, 10]);

/**
 * Cuts a byte stream into SIP messages. Content-Length is mandatory. After an error
 * every later push() returns nothing: the transport should close the connection.
 */
export class StreamFramer {
  #buf = new Uint8Array(4096);
  #len = 0;
  /** Where the search for the empty line resumes (avoids rescanning). */
  #scanFrom = 0;
  /** Total length of the message being collected, once its headers are known. */
  #need = -1;
  #failed = false;
  readonly #maxHeaderBytes: number;
  readonly #maxBodyBytes: number;

  constructor(limits: FramerLimits = {}) {
    this.#maxHeaderBytes = limits.maxHeaderBytes ?? 16384;
    this.#maxBodyBytes = limits.maxBodyBytes ?? 65536;
  }

  /** Bytes buffered and not yet returned. */
  get buffered(): number {
    return this.#len;
  }

  /** Feeds a chunk; returns the events it completes, in order. */
  push(chunk: Uint8Array): FramerEvent[] {
    if (this.#failed) return [];
    this.#append(chunk);
    const events: FramerEvent[] = [];
    for (;;) {
      const ev = this.#next();
      if (ev === null) break;
      events.push(ev);
      if (ev.type === "error") {
        this.#failed = true;
        this.#len = 0;
        break;
      }
    }
    return events;
  }

  #append(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < this.#len + chunk.length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  #consume(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    this.#scanFrom = 0;
    this.#need = -1;
  }

  #next(): FramerEvent | null {
    const b = this.#buf;
    if (this.#need < 0) {
      // Between messages: CRLFs are keep-alive traffic, not a message.
      if (this.#len >= 2 && b[0] === 13 && b[1] === 10) {
        if (this.#len >= 4 && b[2] === 13 && b[3] === 10) {
          this.#consume(4);
          return { type: "pong" };
        }
        if (this.#len === 2 || (this.#len === 3 && b[2] === 13)) return null;
        this.#consume(2); // a lone CRLF (the peer's pong): skip it
        return this.#next();
      }
      if (this.#len === 1 && b[0] === 13) return null;
      const end = this.#findEmptyLine();
      if (end < 0) {
        if (this.#len > this.#maxHeaderBytes) {
          return { type: "error", reason: "header section exceeds the limit" };
        }
        return null;
      }
      const headerBytes = end + 4;
      if (headerBytes > this.#maxHeaderBytes) {
        return { type: "error", reason: "header section exceeds the limit" };
      }
      const cl = contentLength(byteString(b.subarray(0, end + 2)));
      if (typeof cl === "string") return { type: "error", reason: cl };
      if (cl > this.#maxBodyBytes) return { type: "error", reason: "body exceeds the limit" };
      this.#need = headerBytes + cl;
    }
    if (this.#len < this.#need) return null;
    const bytes = this.#buf.slice(0, this.#need);
    this.#consume(this.#need);
    return { type: "message", bytes };
  }

  /** Offset of "\r\n\r\n" in the buffer, or -1; resumes where the last search stopped. */
  #findEmptyLine(): number {
    const b = this.#buf;
    const last = this.#len - 4;
    let i = this.#scanFrom;
    for (; i <= last; i++) {
      if (b[i + 3] !== 10) continue;
      if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13) return i;
    }
    this.#scanFrom = Math.max(0, i);
    return -1;
  }
}

/** Content-Length from a header section (byte string), or why it is unusable. */
function contentLength(head: string): number | string {
  const re = /\r\n(?:content-length|l)[ \t]*:[ \t]*([^\r]*?)[ \t]*(?=\r\n(?![ \t]))/gi;
  let found: string | null = null;
  for (let m = re.exec(head); m !== null; m = re.exec(head)) {
    if (found !== null) return "several Content-Length headers";
    found = m[1];
  }
  if (found === null) return "Content-Length missing on a stream";
  if (!/^[0-9]{1,10}$/.test(found)) return "bad Content-Length";
  return Number(found);
}
