// The runtime adapter's socket buffers, UDP drop counter and open-files limit, under
// the runtime the test runs in (both, through npm test).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";
import { type Libc, readOpenFileLimit } from "../../src/runtime/libc.ts";
import { loadBunLibc } from "../../src/runtime/libc-bun.ts";
import { loadDenoLibc } from "../../src/runtime/libc-deno.ts";
import { RUNTIME } from "../support/current-runtime.ts";
import { sleep } from "../support/wait.ts";

const linux = readOpenFileLimit() !== null;

describe(`socket limits through the runtime adapter (${RUNTIME})`, () => {
  let rt: Runtime;
  before(async () => {
    rt = await detectRuntime();
  });

  it("a UDP socket bound without bufferBytes reports nothing about its buffers", async () => {
    const s = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
    try {
      assert.equal(s.buffers, undefined);
    } finally {
      s.close();
    }
  });

  it("sets SO_RCVBUF and SO_SNDBUF at bind and reads back what the kernel granted", async (t) => {
    if (!linux) return t.skip("not Linux: no /proc/self/limits");
    const max = rt.socketBufferMax();
    assert.ok(max && max.receive > 0 && max.send > 0, "net.core.rmem_max/wmem_max readable");
    // Below the ceiling and unlike the default (208 KiB): Linux doubles what is asked.
    const want = Math.min(96 * 1024, max.receive, max.send);
    for (const options of [{}, ...(rt.canSharePorts ? [{ reusePort: true }] : [])]) {
      const s = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} }, {
        ...options,
        bufferBytes: { receive: want, send: want },
      });
      try {
        assert.deepEqual(
          s.buffers,
          { ok: true, receive: 2 * want, send: 2 * want },
          JSON.stringify(options),
        );
      } finally {
        s.close();
      }
    }
  });

  it("counts datagrams the kernel dropped on a full receive buffer", async (t) => {
    if (!linux) return t.skip("not Linux: no /proc/net/udp");
    let got = 0;
    const rx = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage: () => got++ }, {
      bufferBytes: { receive: 4096, send: 0 },
    });
    const tx = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
    try {
      assert.equal(rt.udpReceiveDrops([rx.local.port]), 0);
      const datagram = new Uint8Array(1200);
      // Sent in one turn of the event loop, faster than the receiver can read them.
      for (let i = 0; i < 300; i++) tx.send(datagram, rx.local);
      let drops = 0;
      for (let i = 0; i < 100 && drops === 0; i++) {
        await sleep(20);
        drops = rt.udpReceiveDrops([rx.local.port]) ?? 0;
      }
      assert.ok(drops > 0, `drops counted (received ${got} of 300)`);
      assert.ok(drops + got <= 300);
      // The socket's own counter (SO_MEMINFO through FFI) is the same kernel figure.
      assert.equal(rx.receiveDrops?.(), drops);
    } finally {
      tx.close();
      rx.close();
    }
  });

  it("raises a lowered soft open-files limit back to the hard one", async (t) => {
    const before = readOpenFileLimit();
    if (!before) return t.skip("not Linux: no /proc/self/limits");
    const libc = await (RUNTIME === "bun" ? loadBunLibc() : loadDenoLibc());
    if (typeof libc === "string") return t.skip(`no FFI: ${libc}`);
    if (before.hard <= 2048) return t.skip(`hard limit ${before.hard} too low to lower safely`);
    assert.equal((libc as Libc).setOpenFileLimit(2048, before.hard), 0);
    try {
      assert.equal(readOpenFileLimit()?.soft, 2048);
      const raised = await rt.raiseOpenFileLimit();
      assert.deepEqual(raised, { soft: before.hard, hard: before.hard, raised: true, note: null });
    } finally {
      (libc as Libc).setOpenFileLimit(before.soft, before.hard);
    }
    // At the hard limit already, it says so and changes nothing.
    assert.deepEqual(await rt.raiseOpenFileLimit(), { ...before, raised: false, note: null });
  });
});
