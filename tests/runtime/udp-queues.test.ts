// The UDP receive queue read from vipless's own sockets (SO_MEMINFO) instead of the
// host-wide /proc/net/udp table: the same kernel figure, and /proc where a port is not
// one of ours (workers sharing a port) or a socket cannot be read.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";
import { readOpenFileLimit } from "../../src/runtime/libc.ts";
import { portable } from "../../src/runtime/portable.ts";
import { OwnUdpQueues } from "../../src/runtime/udp-queues.ts";
import { RUNTIME } from "../support/current-runtime.ts";
import { sleep } from "../support/wait.ts";

const linux = readOpenFileLimit() !== null;

describe("OwnUdpQueues", () => {
  it("sums the readers of the ports asked, and answers null for a port not ours", () => {
    const q = new OwnUdpQueues();
    q.add(5060, () => 100);
    q.add(5060, () => 20); // an IPv6 listener on the same port number
    q.add(5070, () => 3);
    assert.equal(q.sum([5060, 5070]), 123);
    assert.equal(q.sum([5060, 5080]), null);
  });

  it("answers null when a socket cannot be read, and forgets a removed socket", () => {
    const q = new OwnUdpQueues();
    const remove = q.add(5060, () => 7);
    const failing = q.add(5070, () => -1);
    assert.equal(q.sum([5070]), null);
    failing();
    remove();
    assert.equal(q.sum([5060]), null);
  });
});

describe(`UDP receive queue through the runtime adapter (${RUNTIME})`, () => {
  let rt: Runtime;
  before(async () => {
    rt = await detectRuntime();
  });

  it("reads the same queued bytes from the socket as /proc/net/udp shows", async (t) => {
    if (!linux) return t.skip("not Linux: no /proc/net/udp");
    let port: number[] = [];
    let seen = 0;
    // Datagrams may still arrive while we look (Deno sends off the JS thread): a
    // reading counts when /proc shows the same figure just before and just after it.
    // Looking without yielding keeps the adapter from reading the queue meanwhile.
    const look = () => {
      for (let i = 0; i < 200 && seen === 0; i++) {
        const a = portable.udpReceiveQueue(port);
        const own = rt.udpReceiveQueue(port);
        const b = portable.udpReceiveQueue(port);
        if (a === b) {
          assert.equal(own, a);
          seen = own ?? 0;
        }
      }
    };
    // Inside the handler of the first datagram the rest wait in the kernel (Deno reads
    // one per turn); Bun sends synchronously, so right after the sends they wait too.
    let first = true;
    const rx = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, {
      onMessage() {
        if (first) look();
        first = false;
      },
    }, { bufferBytes: { receive: 256 * 1024, send: 0 } });
    const tx = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
    try {
      port = [rx.local.port];
      assert.equal(rt.udpReceiveQueue(port), portable.udpReceiveQueue(port));
      const datagram = new Uint8Array(1000);
      for (let i = 0; i < 100; i++) tx.send(datagram, rx.local);
      look();
      for (let i = 0; i < 100 && first; i++) await sleep(5);
      assert.ok(seen > 0, "the 100 datagrams were seen queued");
    } finally {
      tx.close();
      rx.close();
    }
  });
});
