// Issue 14 item 3 through the proxy core: nothing malformed is forwarded. The findings
// (a bare LF in Subject injecting a To, NULs in From/To/Via/Call-ID, `received=0x10.0.0.1`
// read as 16.0.0.1) each have a case, and RFC 4475 badinv01.dat's 400 goes to the source
// address when its Via cannot say where. The property test mutates valid requests and
// re-reads everything the core sends with an independent strict reader.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { mutate, mutations } from "../support/mutation.ts";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import { ProxyCore } from "../../src/proxy/proxy-core.ts";
import { Router } from "../../src/proxy/router.ts";
import type { Dest, Source } from "../../src/proxy/types.ts";
import { parseMessage } from "../../src/sip/index.ts";
import { config, SITE_A, SITE_B, T0 } from "../support/ha-fixtures.ts";
import { seededRandom } from "../support/random.ts";
import { grammarProblem, octetProblem } from "../sip/strict-grammar.ts";
import {
  answer,
  BACKUP,
  Harness,
  one,
  PRIMARY,
  request,
  requests,
  responses,
  summary,
  to,
  UAC,
} from "./harness.ts";

/** Text with octets 0-255 as bytes (TextEncoder would turn 0x80-0xff into UTF-8). */
function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Sent to a pair member: a forwarded request. */
const toMember = (d: Dest) => d.host === PRIMARY.host || d.host === BACKUP.host;

describe("the issue's findings: refused with 400, nothing reaches a member", () => {
  const cases: Array<[string, string]> = [
    [
      "a bare LF in Subject injecting a second To",
      request("INVITE", { headers: [["Subject", "x\nTo: <sip:injected@198.51.100.66>"]] }),
    ],
    ["a NUL in From", request("INVITE", { fromTag: "f\u0000x" })],
    ["a NUL in To", request("INVITE").replace("To: <sip:bob@", "To: <sip:bo\u0000b@")],
    ["a NUL in Via", request("INVITE", { branch: "z9hG4bK\u0000nul" })],
    ["a NUL in Call-ID", request("INVITE", { callId: "c\u0000x@uac.example.com" })],
    ["a bare CR in a header", request("INVITE", { headers: [["Subject", "x\ry"]] })],
    [
      "received=0x10.0.0.1 in a Via",
      request("INVITE", {
        vias: ["SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK-r;received=0x10.0.0.1"],
      }),
    ],
    [
      "a Via of another SIP version",
      request("INVITE", { vias: ["SIP/3.0/UDP uac.example.com:5062;branch=z9hG4bK-v"] }),
    ],
    [
      "a Via sent-by 0x10.0.0.1",
      request("INVITE", { vias: ["SIP/2.0/UDP 0x10.0.0.1:5062;branch=z9hG4bK-h;rport"] }),
    ],
    ["a Request-URI host 0x0a.0.0.1", request("INVITE", { uri: "sip:bob@0x0a.0.0.1" })],
    ["a Request-URI host 127.1", request("OPTIONS", { uri: "sip:bob@127.1" })],
    ["a Route host 010.0.0.1", request("INVITE", { routes: ["<sip:010.0.0.1;lr>"] })],
    [
      "a lower Route host 0x0a000001",
      request("MESSAGE", { routes: ["<sip:next.example.com;lr>", "<sip:0x0a000001;lr>"] }),
    ],
  ];
  for (const [what, text] of cases) {
    test(what, () => {
      const h = new Harness();
      const out = h.receive(bytesOf(text), UAC);
      assert.deepEqual(summary(out.filter((s) => toMember(s.dest))), [], "forwarded");
      assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [400]);
      for (const s of out) assert.equal(octetProblem(s.msg.raw), null, "our 400 is clean");
      assert.equal(h.core.liveTransactions, 0);
    });
  }
});

describe("responses: malformed ones are dropped and counted, never relayed", () => {
  test("a 200 whose next Via says received=0x10.0.0.1 is not sent to 16.0.0.1", () => {
    const h = new Harness();
    // No transaction matches: the core would relay it along the next Via (§16.11).
    const res = [
      "SIP/2.0 200 OK",
      "Via: SIP/2.0/UDP vipless.test;branch=z9hG4bKvl-none.1",
      "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK-x;received=0x10.0.0.1",
      "From: <sip:a@example.com>;tag=1",
      "To: <sip:b@example.com>;tag=2",
      "Call-ID: c-received",
      "CSeq: 1 INVITE",
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
    assert.deepEqual(summary(h.receive(res, PRIMARY)), []);
    assert.deepEqual(h.drops, ["invalid-response"]);
  });

  test("a member's 200 with a bare LF in a header is dropped, the caller never sees it", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("MESSAGE")), "MESSAGE"));
    const ok = answer(fwd.msg, 200, { headers: [["Subject", "x\nTo: <sip:injected@h.example>"]] });
    const out = h.receive(ok, PRIMARY);
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), []);
    assert.deepEqual(h.drops, ["malformed-response"]);
  });
});

describe("found by npm run fuzz", () => {
  test("a member's 200 that lost the caller's Via is dropped, not relayed without a Via", () => {
    const h = new Harness();
    const fwd = one(requests(h.receive(request("MESSAGE")), "MESSAGE"));
    const ours = fwd.msg.headerValues("Via")[0];
    const ok = answer(fwd.msg, 200).replace(/Via: [^\r]*\r\n/g, "").replace(
      "SIP/2.0 200 Reason\r\n",
      `SIP/2.0 200 Reason\r\nVia: ${ours}\r\n`,
    );
    assert.deepEqual(summary(h.receive(ok, PRIMARY)), []);
    assert.deepEqual(h.drops, ["invalid-response"]);
  });

  test("a CR inside a header name (CR | 0x20 is '-') does not make it a Call-ID", () => {
    const h = new Harness();
    const text = request("INVITE").replace("Call-ID: ", "Call\rID: ");
    const out = h.receive(bytesOf(text), UAC);
    assert.deepEqual(summary(out.filter((s) => toMember(s.dest))), []);
    assert.deepEqual(responses(to(out, UAC)).map((s) => s.msg.status), [400]);
    for (const s of out) assert.equal(grammarProblem(s.msg.raw), null, "our 400 is clean");
  });
});

describe("RFC 4475 badinv01.dat (§3.1.2.1): 400, to the source address", () => {
  test("the Via has empty parameters, so the answer goes where the request came from", () => {
    const file = new URL("../../../shared/testdata/rfc4475/badinv01.dat", import.meta.url);
    const bytes = new Uint8Array(readFileSync(decodeURIComponent(file.pathname)));
    const h = new Harness();
    const out = h.receive(bytes, UAC);
    assert.deepEqual(
      out.map((s) => [s.dest.host, s.dest.port, s.msg.status]),
      [[UAC.host, UAC.port, 400]],
    );
    assert.deepEqual(h.drops, []);
  });

  test("over TCP it goes back on the connection it came in on", () => {
    const file = new URL("../../../shared/testdata/rfc4475/badinv01.dat", import.meta.url);
    const bytes = new Uint8Array(readFileSync(decodeURIComponent(file.pathname)));
    const h = new Harness();
    const conn = {};
    const out = h.receive(bytes, { transport: "tcp", host: "192.0.2.7", port: 40000, conn });
    assert.equal(out.length, 1);
    assert.deepEqual(out[0].dest, { transport: "tcp", host: "192.0.2.7", port: 40000, conn });
    assert.equal(out[0].msg.status, 400);
  });
});

// ---------------------------------------------------------------- property

const TORTURE = new URL("../../../shared/testdata/rfc4475/", import.meta.url);
const tortureRequests: Uint8Array[] = readFileSync(
  decodeURIComponent(new URL("expectations.tsv", TORTURE).pathname),
  "utf8",
).split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => l.split("\t"))
  .filter(([, , kind]) => kind === "request")
  .map(([file]) =>
    new Uint8Array(readFileSync(decodeURIComponent(new URL(file, TORTURE).pathname)))
  );

/** Valid requests of the builders, as bytes. */
function builderRequest(kind: number): Uint8Array {
  const enc = new TextEncoder();
  switch (kind % 6) {
    case 0:
      return enc.encode(request("INVITE", { body: "v=0\r\n" }));
    case 1:
      return enc.encode(request("OPTIONS"));
    case 2:
      return enc.encode(request("MESSAGE", { routes: ["<sip:proxy.example.com;lr>"] }));
    case 3:
      return enc.encode(request("BYE", { toTag: "t1", uri: "sip:bob@192.0.2.44:5070" }));
    case 4:
      return enc.encode(request("INVITE", { headers: [["X-Genesys-Route", "site-b"]] }));
    default:
      return enc.encode(
        request("ACK", {
          toTag: "t2",
          vias: [
            "SIP/2.0/UDP uac.example.com:5062;branch=z9hG4bK-a;received=192.0.2.1",
            "SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bK-b",
          ],
        }),
      );
  }
}

/** What fuzzers (and the findings) do to a request's bytes. */
const mutation = mutations([
  "\0",
  "\n",
  "\r",
  "\r\n",
  "\r\n ",
  "\nTo: <sip:injected@198.51.100.66>",
  " ",
  ";",
  ":",
  ",",
  "<",
  ">",
  "\\",
  '"',
  "0x",
  "0",
  ".1",
  ";received=0x10.0.0.1",
  ";received",
  ";maddr=010.0.0.1",
  "/3.0",
  "[",
  "]",
  "%00",
]);

interface Emitted {
  bytes: Uint8Array;
  dest: Dest;
}

/** A core like the Harness's, whose output keeps the raw bytes (nothing parses them). */
function rawCore(): {
  core: ProxyCore;
  sent: Emitted[];
  now: () => number;
  advance(ms: number): void;
} {
  const ha = new PairRegistry(config({}, [SITE_A, SITE_B]), { now: T0, random: seededRandom(7) });
  const sent: Emitted[] = [];
  let now = 1_000;
  const core = new ProxyCore(
    {
      advertiseHost: "vipless.test",
      advertisePort: null,
      localAddresses: [{ host: "192.0.2.10", port: 5060 }],
      failoverTimeoutMs: 1000,
      t1Ms: 500,
      maxTransactions: 1000,
      maxMessageBytes: 65_535,
      userAgent: "vipless-test",
      maxInviteRate: 0,
    },
    new Router(ha, "site-a"),
    { send: (bytes, dest) => sent.push({ bytes: bytes.slice(), dest }) },
    {
      isMember: (sender) => ha.identify(sender) !== null,
      servedPairReady: () => ha.isInService("site-a"),
    },
    seededRandom(11),
  );
  return {
    core,
    sent,
    now: () => now,
    advance(ms: number) {
      const until = now + ms;
      for (let i = 0; i < 10_000; i++) {
        const at = core.nextDeadline();
        if (at === undefined || at > until) break;
        now = Math.max(now, at);
        core.tick(now);
      }
      now = until;
    },
  };
}

describe("property: whatever the core sends parses cleanly under the strict grammar", () => {
  test("mutated builder and RFC 4475 requests, from anyone, answered or not", () => {
    let forwarded = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            source: fc.nat(),
            fromMember: fc.boolean(),
            mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
            answerWith: fc.constantFrom(0, 180, 200, 486),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (steps) => {
          const c = rawCore();
          for (const s of steps) {
            const n = tortureRequests.length + 6;
            const base = s.source % n < tortureRequests.length
              ? tortureRequests[s.source % n]
              : builderRequest(s.source % n);
            const src: Source = s.fromMember ? PRIMARY : UAC;
            const from = c.sent.length;
            c.core.onMessage(mutate(base, s.mutations), src, c.now());
            c.advance(600); // a retransmission or a failover goes out too
            // Indexed: the answers given below make the core send more, checked as well.
            for (let i = from; i < c.sent.length; i++) {
              const e = c.sent[i];
              const isRequest = !/^SIP\/2\.0 /.test(
                new TextDecoder().decode(e.bytes.subarray(0, 8)),
              );
              // A forwarded request must be strictly clean; our own answers (which copy
              // the request's Via lines back to its sender) must at least be octet-clean.
              const problem = isRequest ? grammarProblem(e.bytes) : octetProblem(e.bytes);
              assert.equal(
                problem,
                null,
                `sent to ${e.dest.host}:${e.dest.port}:\n${
                  JSON.stringify(new TextDecoder("latin1").decode(e.bytes))
                }`,
              );
              if (isRequest && toMember(e.dest)) forwarded++;
              if (isRequest && s.answerWith !== 0 && toMember(e.dest)) {
                const fwd = parseMessage(e.bytes);
                if (fwd.method !== "ACK") {
                  c.core.onMessage(
                    new TextEncoder().encode(answer(fwd, s.answerWith)),
                    { transport: "udp", host: e.dest.host, port: e.dest.port },
                    c.now(),
                  );
                }
              }
            }
          }
          c.advance(400_000);
        },
      ),
      { numRuns: 400, seed: 4475, includeErrorInReport: true },
    );
    // The property is about forwarded messages: make sure there were some.
    assert.ok(forwarded > 100, `only ${forwarded} requests were forwarded`);
  });
});
