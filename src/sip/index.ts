/**
 * The SIP message layer: a strict scanner that indexes a message over its original
 * bytes, lazily decoded typed views, forwarding edits as byte splices, builders for
 * the messages a proxy originates, request/response validation and stream framing.
 * Pure code: no I/O, no clock, no timers.
 * @module
 */

/** The only error this layer throws; `.status` for requests, `.drop` for responses. */
export { SipParseError } from "./errors.ts";

/** Parses one datagram or one framed stream message into a SipMessage. */
export { parseMessage } from "./parse.ts";
/** Limits and framing mode of parseMessage. */
export type { ParseOptions } from "./parse.ts";

/** A parsed message: start line, header index, lazily decoded typed accessors. */
export { SipMessage } from "./message.ts";
/** The CSeq header's number and method. */
export type { CSeq } from "./message.ts";

/** One Via entry (protocol, transport, sent-by, branch, received, rport, maddr, ttl). */
export type { Via } from "./via.ts";
/** Parses one Via entry's text. */
export { parseVia } from "./via.ts";

/** A name-addr (From, To, Contact, Route, Record-Route) with its parameters. */
export type { NameAddr } from "./name-addr.ts";
/** Parses one name-addr or addr-spec with header parameters. */
export { parseNameAddr } from "./name-addr.ts";

/** A parsed sip:/sips:/tel: (or opaque) URI. */
export type { SipUri } from "./uri.ts";
/**
 * URI helpers: parseUri (throws SipParseError), uriTransport (transport param, tls for
 * sips, else udp), hostPortKey/normalizeHost (IPv6 and default-port normalisation),
 * isBroadcastOrMulticast, unescapeUri.
 */
export {
  hostPortKey,
  isBroadcastOrMulticast,
  normalizeHost,
  parseUri,
  unescapeUri,
  uriTransport,
} from "./uri.ts";

/** Forwarding edits as byte splices (push/pop Via, Record-Route, Route, Max-Forwards…). */
export { MessageEditor } from "./editor.ts";

/** Builders: responses, new requests (OPTIONS probes), CANCEL, ACK for non-2xx. */
export { buildAck, buildCancel, buildRequest, buildResponse, derivedToTag } from "./build.ts";
/** Options and fields of the builders. */
export type { HeaderPairs, RequestFields, ResponseOptions } from "./build.ts";

/** Proxy validation: requestRejection (400/416/420/483) and responseRejection (drop). */
export { requestRejection, responseRejection } from "./validate.ts";
/** What requestRejection returns. */
export type { Rejection } from "./validate.ts";

/** TCP/TLS framing with keep-alive pongs and limits; PONG is the CRLF to send. */
export { PONG, StreamFramer } from "./framer.ts";
/** Framer configuration and events. */
export type { FramerEvent, FramerLimits } from "./framer.ts";

/** Byte-string helpers for callers that splice text into messages. */
export { byteString, readable, toByteString } from "./text.ts";
