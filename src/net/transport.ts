// The SIP transport names, declared once: the config, the HA core and the transport
// layer all speak of the same three.

/** A SIP transport as a config or a URI names it (RFC 3261 §18; TLS for sips:). */
export type Transport = "udp" | "tcp" | "tls";

/**
 * A transport without TLS: what the sockets carry today. TLS listeners and connections
 * are not built yet, so the transport layer and the proxy only ever see these two.
 */
export type PlainTransport = Exclude<Transport, "tls">;
