/**
 * The facts about a SIP message that the transaction layer needs. The proxy builds
 * them from a parsed message; this layer never parses, so it does not depend on
 * `src/sip`. Message bytes travel alongside as opaque `Uint8Array`s.
 */

/** An incoming request, as seen by server-transaction matching (RFC 3261 §17.2.3). */
export interface RequestFacts {
  /** Request method; case-sensitive (RFC 3261 §7.1). */
  readonly method: string;
  /** `branch` parameter of the top Via; "" when absent. */
  readonly branch: string;
  /**
   * `sent-by` (host[:port]) of the top Via. Compared case-insensitively; the caller
   * should write it the same way for every message (e.g. always with the port).
   */
  readonly sentBy: string;

  // The fields below are only used for RFC 2543 peers (branch without "z9hG4bK").

  /** Request-URI as a normalised string. */
  readonly requestUri: string;
  readonly callId: string;
  /** `tag` of From; "" when absent. */
  readonly fromTag: string;
  /** `tag` of To; "" when absent. */
  readonly toTag: string;
  /** CSeq sequence number. */
  readonly cseq: number;
  /** The whole top Via, normalised, standing for "the top Via header field matches". */
  readonly viaKey: string;
}

/** An incoming response, as seen by client-transaction matching (RFC 3261 §17.1.3). */
export interface ResponseFacts {
  readonly status: number;
  /** `branch` parameter of the top Via; "" when absent. */
  readonly branch: string;
  /** Method in CSeq. */
  readonly cseqMethod: string;
}

/** A request the TU sends through a new client transaction. */
export interface OutgoingRequest {
  /** Method; also the CSeq method that responses must carry. */
  readonly method: string;
  /** `branch` of the Via the proxy pushed; must start with "z9hG4bK" and be unique. */
  readonly branch: string;
  /** The serialised request, sent now and on every retransmission. */
  readonly bytes: Uint8Array;
  /**
   * INVITE only: builds the ACK for a 300-699 final (RFC 3261 §17.1.1.3), from the
   * response that is being acknowledged. Called once; the result is resent for every
   * retransmission of that final.
   */
  readonly buildAck?: (response: ResponseFacts, responseBytes: Uint8Array) => Uint8Array;
}

/** A response the TU sends through a server transaction. */
export interface OutgoingResponse {
  readonly status: number;
  readonly bytes: Uint8Array;
  /** `tag` of To in this response; needed to match the ACK of RFC 2543 peers. */
  readonly toTag?: string;
}
