/**
 * The fuzzer's seed messages, before mutation: the RFC 4475 torture set, messages as
 * SIPp's scenarios send them (the same shapes as tests/interop/sipp and
 * scripts/bench/sipp), and messages made by the project's own builders (src/sip/build.ts).
 *
 * Every address in a seed is on loopback: IPv4 literals of the RFC's examples are
 * rewritten to 127.0.0.3, so that whatever vipless does with a message (answer it,
 * relay a response along its Via) it can only send to this machine.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildAck,
  buildCancel,
  buildRequest,
  buildResponse,
  parseMessage,
} from "../../src/sip/index.ts";
import { byteString, byteStringToBytes } from "../../src/sip/text.ts";

/** One seed: a name to report and the message as a byte string (one char per octet). */
export interface Seed {
  name: string;
  text: string;
}

export interface CorpusOptions {
  /** vipless's SIP address: Request-URIs of the SIPp-like seeds name it. */
  proxy: { host: string; port: number };
  /** The directory of the RFC 4475 .dat files (left out when it does not exist). */
  rfc4475Dir: string;
}

/** Any dotted-quad IPv4 literal not already on loopback. */
const FOREIGN_IPV4 = /\b(?!127\.)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g;

/** Rewrites every IPv4 literal off loopback to 127.0.0.3 (see the header comment). */
export function onLoopback(text: string): string {
  return text.replace(FOREIGN_IPV4, "127.0.0.3");
}

/** The RFC 4475 messages, each file one seed (expectations.tsv and README are not). */
export function rfc4475Seeds(dir: string): Seed[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".dat"))
    .sort()
    .map((f) => ({
      name: `rfc4475/${f}`,
      text: onLoopback(byteString(new Uint8Array(readFileSync(join(dir, f))))),
    }));
}

const SDP = [
  "v=0",
  "o=user1 53655765 2353687637 IN IP4 127.0.0.3",
  "s=-",
  "c=IN IP4 127.0.0.3",
  "t=0 0",
  "m=audio 6000 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "",
].join("\r\n");

/** A request laid out as SIPp's scenarios write it; `extra` goes before Content-Length. */
function sippLike(
  method: string,
  uri: string,
  o: { cseq: number; body?: string; extra?: string[]; toTag?: boolean },
): string {
  const body = o.body ?? "";
  return [
    `${method} ${uri} SIP/2.0`,
    "Via: SIP/2.0/UDP 127.0.0.3:5061;branch=z9hG4bK-sipp-1;rport",
    "From: sipp <sip:sipp@127.0.0.3:5061>;tag=1234SIPpTag001",
    `To: service <sip:service@127.0.0.1>${o.toTag ? ";tag=5678SIPpTag011" : ""}`,
    "Call-ID: 1-1234@127.0.0.3",
    `CSeq: ${o.cseq} ${method}`,
    "Contact: <sip:sipp@127.0.0.3:5061;transport=UDP>",
    "Max-Forwards: 70",
    "Subject: Performance Test",
    ...(o.extra ?? []),
    ...(body ? ["Content-Type: application/sdp"] : []),
    `Content-Length: ${body.length}`,
    "",
    body,
  ].join("\r\n");
}

/** What SIPp's UAC, UAS and a registering phone put on the wire. */
export function sippSeeds(proxy: { host: string; port: number }): Seed[] {
  const uri = `sip:service@${proxy.host}:${proxy.port}`;
  const inDialog = `sip:sipp@127.0.0.3:5061`;
  const route = [`Route: <sip:${proxy.host}:${proxy.port};lr>`];
  return [
    { name: "sipp/invite", text: sippLike("INVITE", uri, { cseq: 1, body: SDP }) },
    { name: "sipp/ack", text: sippLike("ACK", inDialog, { cseq: 1, toTag: true, extra: route }) },
    { name: "sipp/bye", text: sippLike("BYE", inDialog, { cseq: 2, toTag: true, extra: route }) },
    { name: "sipp/cancel", text: sippLike("CANCEL", uri, { cseq: 1 }) },
    { name: "sipp/options", text: sippLike("OPTIONS", uri, { cseq: 1 }) },
    {
      name: "sipp/register",
      text: sippLike("REGISTER", `sip:${proxy.host}:${proxy.port}`, {
        cseq: 1,
        extra: ["Expires: 3600", 'Authorization: Digest username="100",realm="x",nonce="n"'],
      }),
    },
    {
      name: "sipp/message",
      text: sippLike("MESSAGE", uri, {
        cseq: 1,
        extra: ["X-Genesys-Route: <sip:127.0.0.3:5070;lr>", "Route: <sip:127.0.0.3;lr>"],
      }),
    },
    {
      name: "sipp/200-invite",
      text: [
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP 127.0.0.3:5061;branch=z9hG4bK-sipp-1;received=127.0.0.3",
        "From: sipp <sip:sipp@127.0.0.3:5061>;tag=1234SIPpTag001",
        "To: service <sip:service@127.0.0.1>;tag=5678SIPpTag011",
        "Call-ID: 1-1234@127.0.0.3",
        "CSeq: 1 INVITE",
        "Record-Route: <sip:127.0.0.3;lr>",
        "Contact: <sip:127.0.0.3:5062;transport=UDP>",
        "Content-Type: application/sdp",
        `Content-Length: ${SDP.length}`,
        "",
        SDP,
      ].join("\r\n"),
    },
  ];
}

/** Responses, CANCEL, ACK and a probe made by src/sip/build.ts from the SIPp INVITE. */
export function builderSeeds(proxy: { host: string; port: number }): Seed[] {
  const inviteText = sippSeeds(proxy)[0].text;
  const invite = parseMessage(byteStringToBytes(inviteText));
  const ringing = buildResponse(invite, 180, "Ringing");
  const busy = buildResponse(invite, 486, "Busy Here");
  const seeds: Array<[string, Uint8Array]> = [
    ["build/100", buildResponse(invite, 100, "Trying")],
    ["build/180", ringing],
    [
      "build/200",
      buildResponse(invite, 200, "OK", {
        body: SDP,
        headers: [["Content-Type", "application/sdp"]],
      }),
    ],
    ["build/486", busy],
    [
      "build/503",
      buildResponse(invite, 503, "Service Unavailable", { headers: [["Retry-After", "5"]] }),
    ],
    ["build/cancel", buildCancel(invite)],
    ["build/ack-486", buildAck(invite, parseMessage(busy))],
    [
      "build/options",
      buildRequest({
        method: "OPTIONS",
        uri: `sip:${proxy.host}:${proxy.port}`,
        via: "SIP/2.0/UDP 127.0.0.3:5061;branch=z9hG4bK-build-1;rport",
        from: "<sip:probe@127.0.0.3>;tag=b1",
        to: `<sip:${proxy.host}:${proxy.port}>`,
        callId: "build-1@127.0.0.3",
        cseq: 1,
        userAgent: "fuzz",
      }),
    ],
  ];
  return seeds.map(([name, bytes]) => ({ name, text: byteString(bytes) }));
}

/** Every seed, RFC 4475 first. */
export function loadCorpus(o: CorpusOptions): Seed[] {
  return [...rfc4475Seeds(o.rfc4475Dir), ...sippSeeds(o.proxy), ...builderSeeds(o.proxy)];
}
