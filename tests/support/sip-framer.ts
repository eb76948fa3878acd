/**
 * Cuts a TCP byte stream into SIP messages (RFC 3261 §18.3): headers end at the first
 * blank line and Content-Length, mandatory on streams, says how many body bytes follow.
 * Leading CRLFs (keep-alives, RFC 5626 §3.5.1) are skipped.
 */
export class SipFramer {
  #buf = new Uint8Array(0);

  /** Adds received bytes and returns every message now complete, as raw bytes. */
  push(data: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.#buf.byteLength + data.byteLength);
    joined.set(this.#buf);
    joined.set(data, this.#buf.byteLength);
    this.#buf = joined;
    const out: Uint8Array[] = [];
    // Each round consumes one message, so the count of rounds is bounded by the input.
    for (;;) {
      let start = 0;
      while (
        start < this.#buf.byteLength && (this.#buf[start] === 13 || this.#buf[start] === 10)
      ) start++;
      if (start > 0) this.#buf = this.#buf.subarray(start);
      const end = headerEnd(this.#buf);
      if (end < 0) break;
      const head = new TextDecoder().decode(this.#buf.subarray(0, end));
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
      const length = m ? Number(m[1]) : 0;
      if (this.#buf.byteLength < end + length) break;
      out.push(this.#buf.slice(0, end + length));
      this.#buf = this.#buf.subarray(end + length);
    }
    return out;
  }

  /** Bytes received but not yet part of a complete message. */
  get pending(): number {
    return this.#buf.byteLength;
  }
}

/** Index just past the CRLFCRLF that ends the headers, or -1. */
function headerEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.byteLength; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}
