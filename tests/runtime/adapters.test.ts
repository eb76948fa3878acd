import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { detectRuntime, type Runtime, type TcpConnection } from "../../src/runtime/index.ts";
import { RUNTIME as expectedName } from "../support/current-runtime.ts";
import { deferred, sleep, withTimeout } from "../support/wait.ts";

describe(`runtime adapter (${expectedName})`, () => {
  let rt: Runtime;
  before(async () => {
    rt = await detectRuntime();
  });

  it("is the runtime the test runs under", () => {
    assert.equal(rt.name, expectedName);
    assert.match(rt.version, /^\d+\.\d+/);
  });

  it("UDP: binds an ephemeral port, receives with the source address, sends back", async () => {
    const got = deferred<{ text: string; from: { host: string; port: number } }>();
    const server = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, {
      onMessage(data, from) {
        server.send(new TextEncoder().encode("pong:" + new TextDecoder().decode(data)), from);
      },
    });
    const client = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, {
      onMessage(data, from) {
        got.resolve({ text: new TextDecoder().decode(data), from });
      },
    });
    try {
      assert.ok(server.local.port > 0);
      client.send(new TextEncoder().encode("ping"), server.local);
      const r = await withTimeout(got.promise, 3000, "UDP reply");
      assert.equal(r.text, "pong:ping");
      assert.deepEqual(r.from, { host: "127.0.0.1", port: server.local.port });
    } finally {
      client.close();
      server.close();
    }
  });

  it("TCP: accepts, reads the byte stream in order, writes 4 MiB with backpressure, closes", async () => {
    const total = 4 * 1024 * 1024;
    const serverGot = deferred<number>();
    let received = 0;
    const listener = await rt.listenTcp({ host: "127.0.0.1", port: 0 }, {
      onOpen(conn) {
        // The server writes a large block at once: the adapter must queue what the kernel refuses.
        const block = new Uint8Array(total);
        for (let i = 0; i < total; i++) block[i] = i % 251;
        conn.write(block);
      },
      onData(_conn, data) {
        received += data.byteLength;
        if (received >= 5) serverGot.resolve(received);
      },
    });
    const clientDone = deferred<Uint8Array>();
    const chunks: Uint8Array[] = [];
    let got = 0;
    let client: TcpConnection | undefined;
    try {
      client = await rt.connectTcp(listener.local, {
        onData(_c, data) {
          chunks.push(data.slice());
          got += data.byteLength;
          if (got >= total) {
            const all = new Uint8Array(got);
            let off = 0;
            for (const c of chunks) {
              all.set(c, off);
              off += c.byteLength;
            }
            clientDone.resolve(all);
          }
        },
      });
      assert.equal(client.remote.port, listener.local.port);
      client.write(new TextEncoder().encode("hello"));
      assert.equal(await withTimeout(serverGot.promise, 3000, "server read"), 5);
      const all = await withTimeout(clientDone.promise, 10000, "4 MiB from server");
      assert.equal(all.byteLength, total);
      for (let i = 0; i < total; i += 65537) assert.equal(all[i], i % 251, `byte ${i}`);
    } finally {
      client?.close();
      listener.close();
    }
  });

  it("TCP: connecting to a closed port rejects", async () => {
    // Bind and close to find a port that nothing listens on.
    const l = await rt.listenTcp({ host: "127.0.0.1", port: 0 }, { onData() {} });
    const port = l.local.port;
    l.close();
    await sleep(50);
    await assert.rejects(
      withTimeout(rt.connectTcp({ host: "127.0.0.1", port }, { onData() {} }), 3000, "refusal"),
    );
  });

  it("HTTP: serves a fetch handler and stops gracefully", async () => {
    const server = await rt.serveHttp(
      { host: "127.0.0.1", port: 0 },
      (req) => new Response(`hi ${new URL(req.url).pathname}`),
    );
    try {
      assert.ok(server.local.port > 0);
      const res = await fetch(`http://127.0.0.1:${server.local.port}/x`);
      assert.equal(await res.text(), "hi /x");
    } finally {
      await withTimeout(server.stop(), 3000, "HTTP stop");
    }
    await assert.rejects(fetch(`http://127.0.0.1:${server.local.port}/x`));
  });

  it("timers, clocks, environment", async () => {
    const t0 = rt.monotonic();
    await new Promise<void>((resolve) => rt.setTimer(20, resolve));
    assert.ok(rt.monotonic() - t0 >= 15);
    let fired = false;
    const h = rt.setTimer(10, () => (fired = true));
    rt.clearTimer(h);
    await sleep(30);
    assert.equal(fired, false);
    assert.ok(Math.abs(rt.now() - Date.now()) < 1000);
    assert.equal(typeof rt.env("PATH"), "string");
    assert.ok(rt.rss() > 1024 * 1024);
  });
});
