// Property tests: parse -> serialise keeps every header and the body; each edit
// changes exactly what it says and nothing else.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MessageEditor, parseMessage } from "../../src/sip/index.ts";

const tokenChar = fc.constantFrom(
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~",
);
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
const valueChar = fc.constantFrom(...' abcxyzABC0123456789;=,<>"@:/.-_~');
const value = fc.string({ unit: valueChar, maxLength: 40 }).map((v) => v.trim());
const header = fc.tuple(
  fc.oneof(token.map((t) => `X-${t}`), fc.constantFrom("Subject", "Accept", "Allow", "User-Agent")),
  value,
);
const base = fc.record({
  headers: fc.array(header, { maxLength: 12 }),
  body: fc.uint8Array({ maxLength: 64 }),
  mf: fc.integer({ min: 0, max: 255 }),
});

type Gen = { headers: [string, string][]; body: Uint8Array; mf: number };

function build(g: Gen): { bytes: Uint8Array; headers: [string, string][] } {
  const headers: [string, string][] = [
    ["Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa"],
    ["Max-Forwards", String(g.mf)],
    ["Route", "<sip:p.example.net;lr>"],
    ...g.headers,
    ["Content-Length", String(g.body.length)],
  ];
  const head = new TextEncoder().encode(
    `INVITE sip:b@example.com SIP/2.0\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`,
  );
  const bytes = new Uint8Array(head.length + g.body.length);
  bytes.set(head);
  bytes.set(g.body, head.length);
  return { bytes, headers };
}

describe("properties", () => {
  it("parse then serialise without edits gives the same bytes, headers and body", () => {
    fc.assert(
      fc.property(base, (g) => {
        const { bytes, headers } = build(g);
        const m = parseMessage(bytes);
        assert.deepEqual(m.headerList(), headers);
        assert.deepEqual(m.body, g.body);
        assert.deepEqual(new MessageEditor(m).toBytes(), bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("each edit changes exactly what it says", () => {
    fc.assert(
      fc.property(base, token, (g, t) => {
        const { bytes, headers } = build(g);
        const m = parseMessage(bytes);
        const via = `SIP/2.0/TCP ${t.toLowerCase()}.example;branch=z9hG4bK${t}`;
        const list = (b: Uint8Array) => parseMessage(b).headerList();
        assert.deepEqual(list(new MessageEditor(m).pushVia(via).toBytes()), [
          ["Via", via],
          ...headers,
        ]);
        assert.deepEqual(
          list(new MessageEditor(m).popRoute().toBytes()),
          headers.filter(([n]) => n !== "Route"),
        );
        assert.deepEqual(
          list(new MessageEditor(m).setMaxForwards(7).toBytes()),
          headers.map(([n, v]) => [n, n === "Max-Forwards" ? "7" : v]),
        );
        assert.deepEqual(
          list(new MessageEditor(m).addHeader(`Y-${t}`, "v").toBytes()),
          [...headers, [`Y-${t}`, "v"]],
        );
        const name = headers[3]?.[0] ?? "Route";
        assert.deepEqual(
          list(new MessageEditor(m).removeHeader(name).toBytes()),
          headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase()),
        );
        const rr = `<sip:${t.toLowerCase()}.example;lr>`;
        const withRr = list(new MessageEditor(m).pushRecordRoute(rr).toBytes());
        assert.deepEqual(withRr.filter(([n]) => n !== "Record-Route"), headers);
        assert.deepEqual(
          parseMessage(new MessageEditor(m).pushRecordRoute(rr).toBytes()).body,
          g.body,
        );
      }),
      { numRuns: 300 },
    );
  });
});
