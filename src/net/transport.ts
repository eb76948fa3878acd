// The SIP transport names, declared once: the config, the HA core and the transport
// layer all speak of the same three.

/** A SIP transport as a config or a URI names it (RFC 3261 §18; TLS for sips:). */
export type Transport = "udp" | "tcp" | "tls";

/** A transport without TLS. */
export type PlainTransport = Exclude<Transport, "tls">;

/** The transports over a stream (TCP, and TLS over TCP). */
export type StreamTransport = Exclude<Transport, "udp">;
