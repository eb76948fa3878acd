// Micro-benchmark of the SIP message layer's hot path, under Bun and Deno:
//   npx bun scripts/bench/sip-parse.ts
//   npx deno run -A scripts/bench/sip-parse.ts
// "edit cycle" = parse + the typical forwarding edits (pop top Route, push Via, push
// Record-Route, decrement Max-Forwards) + serialise. Target: >= 300k INVITE cycles/s.
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { MessageEditor, parseMessage } from "../../src/sip/index.ts";

const crlf = (lines: string[]): Uint8Array => new TextEncoder().encode(lines.join("\r\n"));

const sdp = [
  "v=0",
  "o=alice 2890844526 2890844526 IN IP4 192.0.2.101",
  "s=-",
  "c=IN IP4 192.0.2.101",
  "t=0 0",
  "m=audio 49172 RTP/AVP 0 8 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=sendrecv",
  "",
].join("\r\n");

/** A realistic INVITE from a gateway, about 900 bytes. */
export const INVITE: Uint8Array = crlf([
  "INVITE sip:+14155550123@sipproxy.example.com;user=phone SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport",
  "Max-Forwards: 70",
  "Route: <sip:sipproxy.example.com;lr>",
  "To: <sip:+14155550123@example.com;user=phone>",
  'From: "Alice" <sip:+14155550100@example.com;user=phone>;tag=1928301774',
  "Call-ID: a84b4c76e66710@pc33.example.com",
  "CSeq: 314159 INVITE",
  "Contact: <sip:alice@192.0.2.101:5060;transport=udp>",
  "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY",
  "Supported: replaces, timer, 100rel",
  "Session-Expires: 1800",
  "Min-SE: 90",
  "User-Agent: ExampleGateway/4.2.1",
  "P-Asserted-Identity: <sip:+14155550100@example.com;user=phone>",
  "Content-Type: application/sdp",
  `Content-Length: ${sdp.length}`,
  "",
  sdp,
]);

/** A 200 OK to an OPTIONS, about 400 bytes. */
export const OK: Uint8Array = crlf([
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP sipproxy.example.com:5060;branch=z9hG4bK.proxy.1",
  "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;received=192.0.2.101",
  "To: <sip:10.0.0.11:5060>;tag=93810874",
  "From: <sip:vipless@sipproxy.example.com>;tag=456248",
  "Call-ID: 843817637684230@998sdasdh09",
  "CSeq: 1826 OPTIONS",
  "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE",
  "Server: ExampleSipServer/8.1",
  "Content-Length: 0",
  "",
  "",
]);

const VIA = "SIP/2.0/UDP sipproxy.example.com:5060;branch=z9hG4bK.f1c2d3e4";
const RR = "<sip:sipproxy.example.com;lr>";

function inviteCycle(): Uint8Array {
  const msg = parseMessage(INVITE);
  return new MessageEditor(msg)
    .popRoute()
    .pushVia(VIA)
    .pushRecordRoute(RR)
    .setMaxForwards((msg.maxForwards ?? 70) - 1)
    .toBytes();
}

function okCycle(): Uint8Array {
  return new MessageEditor(parseMessage(OK)).popVia().toBytes();
}

if (import.meta.main) {
  console.log(`INVITE ${INVITE.length} bytes, 200 OK ${OK.length} bytes`);
  summary(() => {
    group("edit cycle (parse + edits + serialise)", () => {
      bench(
        "INVITE: pop Route, push Via, push RR, Max-Forwards-1",
        () => do_not_optimize(inviteCycle()),
      );
      bench("200 OK: pop Via", () => do_not_optimize(okCycle()));
    });
    group("parse only", () => {
      bench("INVITE parse", () => do_not_optimize(parseMessage(INVITE)));
      bench("200 OK parse", () => do_not_optimize(parseMessage(OK)));
      bench("INVITE parse + transaction keys (top Via, CSeq, Call-ID)", () => {
        const m = parseMessage(INVITE);
        do_not_optimize(m.topVia?.branch);
        do_not_optimize(m.cseq?.method);
        do_not_optimize(m.callId);
      });
    });
  });
  await run();
}
