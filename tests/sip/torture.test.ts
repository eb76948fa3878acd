// RFC 4475 torture messages: each must behave as expectations.tsv says, and every
// accepted message must survive forwarding intact apart from the proxy's own edits.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  MessageEditor,
  parseMessage,
  requestRejection,
  responseRejection,
  SipParseError,
} from "../../src/sip/index.ts";

const dir = new URL("../../../shared/testdata/rfc4475/", import.meta.url);
/** Filesystem path of a test data file (a string keeps both runtimes' typings happy). */
const path = (name: string): string => decodeURIComponent(new URL(name, dir).pathname);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(path(name)));

/** What the proxy does with a datagram: "accept", "reject NNN" or "drop". */
function outcome(bytes: Uint8Array): string {
  let msg;
  try {
    msg = parseMessage(bytes);
  } catch (e) {
    assert.ok(e instanceof SipParseError, `threw ${e}`);
    return e.drop ? "drop" : `reject ${e.status}`;
  }
  if (msg.isRequest) {
    const r = requestRejection(msg, new Set());
    return r === null ? "accept" : `reject ${r.status}`;
  }
  return responseRejection(msg) === null ? "accept" : "drop";
}

const rows = readFileSync(path("expectations.tsv"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => l.split("\t"));

describe("RFC 4475 torture messages", () => {
  it("covers all 49 messages", () => assert.equal(rows.length, 49));
  for (const [file, section, kind, expected] of rows) {
    it(`${file} (§${section}, ${kind}): ${expected}`, () => {
      const allowed = expected.split(" or ").map((x) => /^\d+$/.test(x) ? `reject ${x}` : x.trim());
      const got = outcome(read(file));
      assert.ok(allowed.includes(got), `${file}: got ${got}, expected ${expected}`);
      if (got === "accept") assertForwardsIntact(read(file));
    });
  }
});

/** Applies the proxy's edits and checks that nothing else changed. */
function assertForwardsIntact(bytes: Uint8Array): void {
  const msg = parseMessage(bytes);
  const before = msg.headerList();
  if (msg.isRequest) {
    const out = new MessageEditor(msg)
      .pushVia("SIP/2.0/UDP proxy.example.net;branch=z9hG4bKtest")
      .pushRecordRoute("<sip:proxy.example.net;lr>")
      .toBytes();
    const fwd = parseMessage(out);
    const after = fwd.headerList();
    const added = after.filter(([, v]) => v.includes("proxy.example.net"));
    assert.equal(added.length, 2);
    assert.deepEqual(after.filter(([, v]) => !v.includes("proxy.example.net")), before);
    assert.deepEqual(fwd.body, msg.body);
    // Runs of spaces in a tolerated Request-Line are not passed on (lwsstart, trws).
    assert.equal(fwd.startLine, `${msg.method} ${msg.requestUri} SIP/2.0`);
  } else {
    const out = new MessageEditor(msg).popVia().toBytes();
    const fwd = parseMessage(out);
    assert.equal(fwd.vias.length, msg.vias.length - 1);
    assert.deepEqual(fwd.body, msg.body);
    assert.equal(fwd.reason, msg.reason);
  }
}
