// Micro-benchmark of the SIP message layer's hot path, under Bun and Deno:
//   npx bun scripts/bench/sip-parse.ts            (mitata, then a plain loop)
//   npx deno run -A scripts/bench/sip-parse.ts
//   npx bun scripts/bench/sip-parse.ts --loop     (plain loop only; for --cpu-prof)
//   npx bun scripts/bench/sip-parse.ts --only "proxy INVITE"   (cases whose name holds it)
// "edit cycle" = parse + the typical forwarding edits (pop top Route, push Via, push
// Record-Route, decrement Max-Forwards) + serialise. Target: >= 300k INVITE cycles/s.
// The "proxy path" cases make exactly the reads and edits src/proxy/proxy-core.ts makes
// per forwarded INVITE and per relayed response, so the numbers reflect the product.
import { bench, do_not_optimize, group, run, summary } from "mitata";
import {
  MessageEditor,
  parseMessage,
  requestRejection,
  responseRejection,
} from "../../src/sip/index.ts";

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

/** The 200 OK to INVITE coming back through the proxy, about 900 bytes. */
export const INVITE_OK: Uint8Array = crlf([
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP sipproxy.example.com:5060;branch=z9hG4bKvl5f3a9c.1;rport=5060",
  "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.101",
  "Record-Route: <sip:sipproxy.example.com;lr>",
  "To: <sip:+14155550123@example.com;user=phone>;tag=8321234356",
  'From: "Alice" <sip:+14155550100@example.com;user=phone>;tag=1928301774',
  "Call-ID: a84b4c76e66710@pc33.example.com",
  "CSeq: 314159 INVITE",
  "Contact: <sip:+14155550123@10.0.0.11:5060;transport=udp>",
  "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY",
  "Supported: replaces, timer",
  "Session-Expires: 1800;refresher=uac",
  "Require: timer",
  "Server: ExampleSipServer/8.1",
  "Content-Type: application/sdp",
  `Content-Length: ${sdp.length}`,
  "",
  sdp,
]);

const VIA = "SIP/2.0/UDP sipproxy.example.com:5060;branch=z9hG4bK.f1c2d3e4";
const RR = "<sip:sipproxy.example.com;lr>";
const SUPPORTED: ReadonlySet<string> = new Set();

export function inviteCycle(): Uint8Array {
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

/** Sink for the values the proxy reads, so no engine can drop the reads. */
let sink = 0;
const use = (v: unknown): void => {
  if (v === sink) sink++;
};

/**
 * What ProxyCore does per forwarded INVITE: validation, transaction facts and loop hash
 * (top Via, CSeq, Call-ID, tags, Proxy-Require), loop check over every Via, route
 * preprocessing and routing (Request-URI, Route, X-Genesys-Route), then the edits.
 */
export function proxyInvitePath(): Uint8Array {
  const req = parseMessage(INVITE, { maxBytes: 65535, stream: false });
  if (requestRejection(req, SUPPORTED) !== null) throw new Error("rejected");
  const via = req.topVia!;
  use(via.branch);
  use(via.host);
  use(via.port);
  use(via.rport);
  use(via.raw);
  const cseq = req.cseq!;
  use(cseq.seq);
  use(cseq.method);
  use(req.callId);
  use(req.from?.tag);
  use(req.to?.tag);
  use(req.maxForwards);
  use(req.proxyRequire.join(","));
  for (const v of req.vias) {
    use(v.host);
    use(v.port);
    use(v.branch);
  }
  use(req.uri.host);
  const routes = req.routes;
  use(routes[0]?.uri);
  use(req.xGenesysRoute);
  return new MessageEditor(req)
    .setTopViaReceived("192.0.2.101", 5060)
    .popRoute()
    .decrementMaxForwards()
    .pushRecordRoute(RR)
    .pushVia(VIA + ";rport")
    .toBytes();
}

/** What ProxyCore does per relayed response: validation, top Via, CSeq, To tag, pop Via. */
export function proxyResponsePath(): Uint8Array {
  const res = parseMessage(INVITE_OK, { maxBytes: 65535, stream: false });
  if (responseRejection(res) !== null) throw new Error("rejected");
  const via = res.topVia!;
  use(via.host);
  use(via.port);
  use(via.branch);
  use(res.cseq!.method);
  use(res.to?.tag);
  return new MessageEditor(res).popVia().toBytes();
}

const CASES: [string, () => unknown][] = [
  ["INVITE edit cycle", inviteCycle],
  ["200 OK edit cycle", okCycle],
  ["proxy INVITE path", proxyInvitePath],
  ["proxy response path (200 OK to INVITE)", proxyResponsePath],
  ["INVITE parse only", () => parseMessage(INVITE)],
];

/**
 * Plain timed loop, no per-iteration bookkeeping: batches of 10k calls for about 1 s.
 * "best" is the least disturbed batch (the machine is shared); "sustained" is all calls
 * over all time, garbage collection included: the throughput a busy proxy would see.
 */
function plainLoop(name: string, fn: () => unknown): void {
  const batch = 10_000;
  let best = Infinity;
  let calls = 0;
  const start = performance.now();
  const until = start + 1000;
  for (let round = 0; round < 1000 && performance.now() < until; round++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) do_not_optimize(fn());
    best = Math.min(best, (performance.now() - t0) / batch);
    calls += batch;
  }
  const mean = (performance.now() - start) / calls;
  const us = (ms: number) => (ms * 1000).toFixed(2).padStart(6);
  const perSec = (ms: number) => Math.round(1000 / ms).toLocaleString("en-US").padStart(9);
  console.log(
    `${name.padEnd(40)} best ${us(best)} µs ${perSec(best)} /s   sustained ${us(mean)} µs ${
      perSec(mean)
    } /s`,
  );
}

if (import.meta.main) {
  const argv: string[] = globalThis.process?.argv ?? [];
  const loopOnly = argv.includes("--loop");
  // --only TEXT: just the cases whose name holds TEXT (e.g. --only "INVITE edit"), so one
  // case can be measured or profiled without the others in the same process.
  const onlyAt = argv.indexOf("--only");
  const only = onlyAt >= 0 ? argv[onlyAt + 1] ?? "" : "";
  const cases = CASES.filter(([name]) => name.includes(only));
  console.log(
    `INVITE ${INVITE.length} bytes, 200 OK ${OK.length} bytes, 200 OK to INVITE ${INVITE_OK.length} bytes`,
  );
  // Warm the cases up first, so that no mitata case measures the JIT's lower tiers (the
  // first case used to pay for it: min 2.5 µs, p75 7 µs for the INVITE cycle under Bun).
  for (const [, fn] of cases) for (let i = 0; i < 50_000; i++) do_not_optimize(fn());
  if (!loopOnly) {
    const mark = (name: string, fn: () => unknown) => {
      if (name.includes(only)) bench(name, () => do_not_optimize(fn()));
    };
    summary(() => {
      group("edit cycle (parse + edits + serialise)", () => {
        mark("INVITE edit cycle", inviteCycle);
        mark("200 OK edit cycle", okCycle);
      });
      group("proxy paths (every read and edit ProxyCore makes)", () => {
        mark("proxy INVITE path", proxyInvitePath);
        mark("proxy response path (200 OK to INVITE)", proxyResponsePath);
      });
      group("parse only", () => {
        mark("INVITE parse only", () => parseMessage(INVITE));
        mark("200 OK parse only", () => parseMessage(OK));
        mark("INVITE parse + transaction keys (top Via, CSeq, Call-ID)", () => {
          const m = parseMessage(INVITE);
          do_not_optimize(m.topVia?.branch);
          do_not_optimize(m.cseq?.method);
          return m.callId;
        });
      });
    });
    await run();
  }
  console.log("\nplain loop (~1 s each; best 10k batch, and sustained over the whole second):");
  for (const [name, fn] of cases) plainLoop(name, fn);
  do_not_optimize(sink);
}
