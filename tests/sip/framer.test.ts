import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, StreamFramer } from "../../src/sip/index.ts";
import { INVITE_LINES, sip } from "./fixtures.ts";

const msg = sip(INVITE_LINES);

describe("StreamFramer", () => {
  it("cuts messages out of arbitrary chunking, with pings between them", () => {
    const stream = new Uint8Array([...msg, 13, 10, 13, 10, ...msg]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const f = new StreamFramer();
      const events = [];
      for (let i = 0; i < stream.length; i += size) {
        events.push(...f.push(stream.subarray(i, i + size)));
      }
      assert.deepEqual(events.map((e) => e.type), ["message", "pong", "message"], `chunk ${size}`);
      for (const e of events) {
        if (e.type === "message") assert.deepEqual(e.bytes, msg);
      }
      assert.equal(f.buffered, 0);
    }
  });

  it("skips a lone CRLF (a pong from the peer) without answering", () => {
    const f = new StreamFramer();
    assert.deepEqual(f.push(new Uint8Array([13, 10, ...msg])).map((e) => e.type), ["message"]);
  });

  it("fails without Content-Length and over the limits, then stays quiet", () => {
    const noCl = sip(["OPTIONS sip:a@b SIP/2.0", "Via: SIP/2.0/TCP h", "", ""]);
    const f = new StreamFramer();
    assert.deepEqual(f.push(noCl).map((e) => e.type), ["error"]);
    assert.deepEqual(f.push(msg), []);
    const small = new StreamFramer({ maxHeaderBytes: 100 });
    assert.deepEqual(small.push(msg.subarray(0, 150)).map((e) => e.type), ["error"]);
    const tinyBody = new StreamFramer({ maxBodyBytes: 4 });
    assert.deepEqual(tinyBody.push(msg).map((e) => e.type), ["error"]);
  });

  it("frames a message that then parses as a stream message", () => {
    const [e] = new StreamFramer().push(msg);
    assert.equal(e.type, "message");
    if (e.type === "message") {
      assert.equal(
        parseMessage(e.bytes, { stream: true }).callId,
        "3848276298220188511@atlanta.example.com",
      );
    }
  });
});
