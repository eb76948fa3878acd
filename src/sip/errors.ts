import type { SipMessage } from "./message.ts";

/**
 * The only error the SIP layer throws. For a request it carries the status a proxy
 * must answer with (400, 416, 505, 513); for a response it says "drop".
 */
export class SipParseError extends Error {
  /** Status to answer a request with; 400 for responses (which are dropped instead). */
  readonly status: number;
  /** True when the broken message is a response (or unclassifiable): discard it. */
  readonly drop: boolean;
  /**
   * The message as far as it could be indexed (start line and header lines), when the
   * error was found after indexing. Lets a proxy build the error response from the
   * request's own Via/From/To/Call-ID/CSeq; null when the start line is unusable.
   */
  partial: SipMessage | null = null;

  constructor(message: string, status = 400, drop = false) {
    super(message);
    this.name = "SipParseError";
    this.status = status;
    this.drop = drop;
  }
}

/** Shorthand for a 400-class malformed-value error thrown by lazy decoders. */
export function malformed(what: string): SipParseError {
  return new SipParseError(what, 400);
}
