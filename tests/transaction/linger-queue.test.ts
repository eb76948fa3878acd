// The absorbing states' deadlines: FIFO per timer, stale entries skipped, never early.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LingerQueue } from "../../src/transaction/linger-queue.ts";
import { TransactionLayer } from "../../src/transaction/layer.ts";
import { bytes, outgoing, request, response } from "./helpers.ts";

const item = () => ({ lingerUntil: 0 });

describe("linger queue", () => {
  it("pops items in deadline order, each once, none before its deadline", () => {
    const q = new LingerQueue<{ lingerUntil: number }>();
    const a = item(), b = item();
    q.push(a, 100);
    q.push(b, 200);
    assert.equal(q.nextDeadline(), 100);
    assert.equal(q.popDue(99), undefined);
    assert.equal(q.popDue(150), a);
    assert.equal(a.lingerUntil, 0, "its wait is over");
    assert.equal(q.popDue(150), undefined);
    assert.equal(q.nextDeadline(), 200);
    assert.equal(q.popDue(500), b);
    assert.equal(q.nextDeadline(), undefined);
  });

  it("skips an entry whose item ended another way (lingerUntil reset)", () => {
    const q = new LingerQueue<{ lingerUntil: number }>();
    const a = item(), b = item();
    q.push(a, 100);
    q.push(b, 200);
    a.lingerUntil = 0;
    assert.equal(q.nextDeadline(), 200);
    assert.equal(q.popDue(1000), b);
    assert.equal(q.popDue(1000), undefined);
  });

  it("a deadline out of order (clock stepped back) fires late, never early", () => {
    const q = new LingerQueue<{ lingerUntil: number }>();
    const a = item(), b = item();
    q.push(a, 300);
    q.push(b, 200);
    assert.equal(q.popDue(250), undefined, "b waits behind a");
    assert.equal(q.popDue(300), a);
    assert.equal(q.popDue(300), b);
  });

  it("keeps working across compaction (thousands of entries)", () => {
    const q = new LingerQueue<{ lingerUntil: number }>();
    const items = Array.from({ length: 5000 }, item);
    items.forEach((x, i) => q.push(x, i + 1));
    let popped = 0;
    for (let t = 1; t <= 5000; t += 7) while (q.popDue(t) !== undefined) popped++;
    while (q.popDue(5000) !== undefined) popped++;
    assert.equal(popped, 5000);
  });
});

describe("lingering transactions in the layer", () => {
  it("an accepted INVITE lingers for Timer L, absorbs its retransmissions, then ends", () => {
    const layer = new TransactionLayer<string>();
    const stx = layer.createServer(request(), "uac", false);
    layer.respond(stx, { status: 200, bytes: bytes("200") }, 0);
    assert.equal(layer.lingeringCount, 1);
    assert.equal(layer.nextDeadline(), 64 * 500);
    const again = layer.receiveRequest(request(), 10_000);
    assert.equal(again.kind, "absorbed");
    assert.deepEqual(again.actions, [], "Accepted answers nothing itself (RFC 6026)");
    assert.equal(stx.lastResponse, undefined, "no bytes kept for 32 s");
    const end = layer.tick(64 * 500);
    assert.deepEqual(end.map((a) => a.kind), ["terminated"]);
    assert.equal(layer.size, 0);
    assert.equal(layer.lingeringCount, 0);
    assert.equal(layer.nextDeadline(), undefined);
  });

  it("a completed non-INVITE keeps only the response it resends for Timer J", () => {
    const layer = new TransactionLayer<string>();
    const req = request({ method: "BYE" });
    const stx = layer.createServer(req, "uac", false);
    layer.respond(stx, { status: 200, bytes: bytes("200 BYE") }, 0);
    const again = layer.receiveRequest(req, 31_000);
    assert.deepEqual(
      again.actions.map((a) => a.kind === "send" ? new TextDecoder().decode(a.bytes) : a.kind),
      ["200 BYE"],
    );
    assert.equal(layer.tick(31_999).length, 0);
    assert.deepEqual(layer.tick(32_000).map((a) => a.kind), ["terminated"]);
  });

  it("a client INVITE in Accepted lingers for Timer M and still delivers 2xx", () => {
    const layer = new TransactionLayer<string>();
    const { tx } = layer.createClient(outgoing("INVITE"), "uas", false, 0);
    layer.receiveResponse(response(200), bytes("200"), 10);
    assert.equal(layer.pendingTimers, 1, "Timers A and B gone, M lingers");
    assert.equal(layer.lingeringCount, 1);
    const again = layer.receiveResponse(response(200), bytes("200"), 20_000);
    assert.equal(again.kind, "response");
    assert.equal(again.kind === "response" && again.tx, tx);
    assert.deepEqual(layer.tick(10 + 64 * 500).map((a) => a.kind), ["terminated"]);
  });

  it("a transport error in Completed ends the lingering wait at once", () => {
    const layer = new TransactionLayer<string>();
    const req = request({ method: "BYE" });
    const stx = layer.createServer(req, "uac", false);
    layer.respond(stx, { status: 200, bytes: bytes("200") }, 0);
    layer.transportError(stx);
    assert.equal(layer.size, 0);
    assert.equal(layer.lingeringCount, 0);
    assert.equal(layer.nextDeadline(), undefined, "the stale entry is not a deadline");
  });
});
