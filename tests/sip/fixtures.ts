// Shared helpers for the SIP layer tests.
/** CRLF-joined lines as bytes. */
export function sip(lines: string[]): Uint8Array {
  return new TextEncoder().encode(lines.join("\r\n"));
}

/** A valid INVITE with a body, used by several tests. */
export const INVITE_LINES = [
  "INVITE sip:bob@example.com SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;rport",
  "Via: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bKold, SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKv6",
  "Max-Forwards: 70",
  "Route: <sip:proxy.example.net;lr>, <sip:next.example.org;lr>",
  "Route: <sip:last.example.org;lr>",
  'From: "Alice" <sip:alice@example.com>;tag=9fxced76sl',
  "To: Bob <sip:bob@example.com>",
  "Call-ID: 3848276298220188511@atlanta.example.com",
  "CSeq: 2 INVITE",
  "Contact: <sip:alice@192.0.2.1>;expires=60",
  'Proxy-Authorization: Digest username="a", realm="b", nonce="c"',
  "X-Genesys-Route: site-b",
  "Content-Type: text/plain",
  "Content-Length: 5",
  "",
  "hello",
];
