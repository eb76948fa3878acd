// A member that sends nothing back to requests forwarded to it (member-silence.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemberSilence } from "../../src/ha/member-silence.ts";

const A = { host: "10.0.0.11", port: 5060 };
const B = { host: "10.0.0.12", port: 5060 };

describe("member silence", () => {
  it("reports once when requests have waited silenceMs with nothing heard since the first", () => {
    const s = new MemberSilence();
    assert.equal(s.forwarded(A, 1000, 300), false, "the first request starts the wait");
    assert.equal(s.forwarded(A, 1299, 300), false);
    assert.equal(s.forwarded(A, 1300, 300), true, "300 ms of silence");
    assert.equal(s.forwarded(A, 1400, 300), false, "once per silence");
  });

  it("anything heard from the member ends the silence; another member's answer does not", () => {
    const s = new MemberSilence();
    s.forwarded(A, 1000, 300);
    s.forwarded(B, 1000, 300);
    s.heard(A);
    assert.equal(s.forwarded(A, 1400, 300), false, "A answered: its wait starts again");
    assert.equal(s.forwarded(B, 1400, 300), true, "B never answered");
    assert.equal(s.forwarded(A, 1700, 300), true, "A silent again since 1400");
  });

  it("a host is the same member whatever its case", () => {
    const s = new MemberSilence();
    s.forwarded({ host: "PBX.example.com", port: 5060 }, 0, 300);
    s.heard({ host: "pbx.example.com", port: 5060 });
    assert.equal(s.forwarded({ host: "pbx.example.com", port: 5060 }, 400, 300), false);
  });
});
