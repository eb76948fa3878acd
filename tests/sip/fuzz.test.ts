// Fuzzing: 100,000 random and mutated messages. Parsing and every accessor may only
// throw SipParseError; parsing work grows linearly with adversarial input size.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import {
  MessageEditor,
  parseMessage,
  requestRejection,
  responseRejection,
  SipParseError,
  StreamFramer,
} from "../../src/sip/index.ts";
import { seededRandom } from "../support/random.ts";

const dir = decodeURIComponent(
  new URL("../../../shared/testdata/rfc4475/", import.meta.url).pathname,
);
const seeds = readdirSync(dir).filter((f) => f.endsWith(".dat")).map((f) =>
  new Uint8Array(readFileSync(dir + f))
);

const INTERESTING = [...'\r\n:;,<>"\\ \t[]@=%/?0'].map((c) => c.charCodeAt(0));

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const out = Array.from(src);
  const edits = 1 + Math.floor(r() * 8);
  for (let e = 0; e < edits && out.length > 0; e++) {
    const at = Math.floor(r() * out.length);
    const kind = r();
    const byte = r() < 0.7
      ? INTERESTING[Math.floor(r() * INTERESTING.length)]
      : Math.floor(r() * 256);
    if (kind < 0.4) out[at] = byte;
    else if (kind < 0.7) out.splice(at, 0, byte);
    else if (kind < 0.9) out.splice(at, 1 + Math.floor(r() * 8));
    else out.splice(at, 0, ...out.slice(at, at + Math.floor(r() * 40)));
  }
  return new Uint8Array(out);
}

/** Parses and touches everything; returns false when it threw a foreign error. */
function exercise(bytes: Uint8Array): void {
  try {
    const m = parseMessage(bytes);
    if (m.isRequest) {
      requestRejection(m, new Set());
      new MessageEditor(m).popRoute().pushVia("SIP/2.0/UDP p;branch=z9hG4bK1")
        .setMaxForwards(1).setTopViaReceived("192.0.2.1", 5060).toBytes();
    } else {
      responseRejection(m);
      new MessageEditor(m).popVia().toBytes();
    }
    void m.contacts;
    void m.recordRoutes;
    void m.uri;
  } catch (e) {
    if (!(e instanceof SipParseError)) {
      throw new Error(`foreign error ${e} on ${JSON.stringify(new TextDecoder().decode(bytes))}`);
    }
  }
}

describe("fuzz", () => {
  it("100,000 random and mutated messages throw nothing but SipParseError", () => {
    const r = seededRandom(0x5eed); // deterministic, so a failure can be replayed
    const deadline = Date.now() + 120_000; // bound in time as well as count
    let n = 0;
    for (; n < 100_000 && Date.now() < deadline; n++) {
      let bytes: Uint8Array;
      if (n % 10 === 0) {
        bytes = new Uint8Array(Math.floor(r() * 200));
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(r() * 256);
      } else bytes = mutate(seeds[n % seeds.length], r);
      exercise(bytes);
      if (n % 50 === 0) new StreamFramer({ maxHeaderBytes: 512 }).push(bytes);
    }
    assert.equal(n, 100_000);
  });

  it("parsing work grows linearly with adversarial input size", () => {
    // Inputs that trip quadratic scanners: endless folding, many commas in a list,
    // many header lines, an unterminated quote. Compare 1x and 16x sizes; a quadratic
    // parser is ~256x slower, a linear one ~16x. The bound is a ratio, not a speed.
    const shapes = [
      (k: number) => `OPTIONS sip:a@b SIP/2.0\r\nSubject: x${"\r\n y".repeat(k)}\r\n\r\n`,
      (k: number) =>
        `OPTIONS sip:a@b SIP/2.0\r\nVia: ${"SIP/2.0/UDP h,".repeat(k)}SIP/2.0/UDP h\r\n\r\n`,
      (k: number) => `OPTIONS sip:a@b SIP/2.0\r\n${"X: y\r\n".repeat(k)}\r\n`,
      (k: number) => `OPTIONS sip:a@b SIP/2.0\r\nTo: "${"a,<".repeat(k)}\r\n\r\n`,
    ];
    const cost = (s: string): number => {
      const bytes = new TextEncoder().encode(s);
      let best = Infinity;
      for (let run = 0; run < 7; run++) {
        const t = performance.now();
        for (let i = 0; i < 5; i++) exerciseLarge(bytes);
        best = Math.min(best, performance.now() - t);
      }
      return Math.max(best, 0.05);
    };
    for (const shape of shapes) {
      cost(shape(200)); // warm up
      const ratio = cost(shape(3200)) / cost(shape(200));
      assert.ok(ratio < 100, `work grew ${ratio.toFixed(1)}x for 16x input`);
    }
  });
});

function exerciseLarge(bytes: Uint8Array): void {
  try {
    const m = parseMessage(bytes, { maxHeaders: 100_000, maxBytes: 1 << 20 });
    void m.vias;
    void m.to;
    m.headerValues("via");
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
  }
}
