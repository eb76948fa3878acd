// Byte <-> string helpers. The parser works on a "byte string": one UTF-16 unit per
// octet, so string offsets equal byte offsets and native indexOf does the scanning.

const utf8 = new TextDecoder("utf-8");
const utf8Strict = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Decodes bytes so that char i is byte i. Pure-ASCII input (nearly every SIP message)
 * takes the runtime's fast UTF-8 path; a decode that kept one unit per byte and made no
 * replacement characters proves the input was ASCII. Anything else goes through an
 * exact latin1 mapping (TextDecoder("latin1") is windows-1252 and not byte-exact).
 */
export function byteString(bytes: Uint8Array): string {
  const s = utf8.decode(bytes);
  if (s.length === bytes.length && s.indexOf("\uFFFD") === -1) return s;
  return latin1(bytes);
}

/** Exact latin1 decode, chunked to stay under argument-count limits. */
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    const chunk = bytes.subarray(i, Math.min(i + 8192, bytes.length));
    out += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return out;
}

/** True when the byte string holds an octet >= 0x80. */
function hasHigh(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

/**
 * Turns a byte string into readable text (display names, reason phrases): valid UTF-8
 * is decoded; anything else is shown as latin1, which never throws.
 */
export function readable(s: string): string {
  if (!hasHigh(s)) return s;
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  try {
    return utf8Strict.decode(b);
  } catch {
    return s;
  }
}

/**
 * Converts caller text (any Unicode) to a byte string holding its UTF-8 octets, so it
 * can be spliced into a message. ASCII is returned unchanged without allocating.
 */
export function toByteString(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s;
  return latin1(encoder.encode(s));
}

/** Writes a byte string into out at pos; returns the new position. */
export function writeByteString(out: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i);
  return pos;
}

/** Byte string -> bytes. */
export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  writeByteString(out, 0, s);
  return out;
}
