// The runtime's TLS sockets (Bun.listen/Bun.connect with tls; Deno.listenTls,
// Deno.startTls/connectTls): bytes both ways after the handshake; a wrong-name, expired
// or untrusted certificate refused; a plain-text client and one that never finishes
// its handshake closed within the deadline and reported; a retired listener's
// connections kept while its successor on the same port serves a new certificate.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Runtime, TcpConnection, TlsListener } from "../../src/runtime/types.ts";
import { makeCerts, opensslMissing, type TestCerts } from "../support/certs.ts";
import { runtime } from "../support/vipless-process.ts";
import { withTimeout } from "../support/wait.ts";

const missing = opensslMissing();
if (missing) console.log(`tests/runtime/tls: skipped: ${missing}`);

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

describe("runtime TLS sockets", { skip: missing ?? false }, () => {
  let rt: Runtime;
  let certs: TestCerts;
  let listener: TlsListener;
  const received: string[] = [];
  const handshakeErrors: string[] = [];
  const serverConns: TcpConnection[] = [];
  const listen = (pem: { cert: string; key: string }, port = 0) =>
    rt.listenTls({ host: "127.0.0.1", port }, {
      onOpen: (c) => serverConns.push(c),
      onData(c, data) {
        received.push(text(data));
        c.write(bytes(`echo:${text(data)}`));
      },
      onHandshakeError: (_remote, e) => handshakeErrors.push(e.message),
    }, { ...pem, handshakeTimeoutMs: 400 });
  const client = (serverName: string, extra: { ca?: string; verify?: boolean } = {}) => {
    const got: string[] = [];
    return {
      got,
      conn: rt.connectTls({ host: "127.0.0.1", port: listener.local.port }, {
        onData: (_c, d) => got.push(text(d)),
      }, { serverName, ca: certs.ca, verify: true, handshakeTimeoutMs: 2000, ...extra }),
    };
  };
  const until = async (what: string, ok: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  before(async () => {
    rt = await runtime();
    certs = makeCerts();
    listener = await listen(certs.server);
  });
  after(() => listener?.close());

  it("carries bytes both ways once the handshake checked the certificate's name", async () => {
    const c = client("pbx.test");
    const conn = await withTimeout(c.conn, 5000, "TLS connect");
    conn.write(bytes("OPTIONS"));
    await until("the echo", () => c.got.join("") === "echo:OPTIONS");
    conn.close();
  });

  it("checks an address as the name (no SNI for it), over IPv4 and IPv6", async () => {
    const c = client("127.0.0.1");
    (await withTimeout(c.conn, 5000, "TLS connect by address")).close();
    const v6 = await rt.listenTls({ host: "::1", port: 0 }, {
      onData: (conn, data) => conn.write(bytes(`echo6:${text(data)}`)),
    }, { ...certs.server, handshakeTimeoutMs: 400 });
    const got: string[] = [];
    const conn = await rt.connectTls({ host: "::1", port: v6.local.port }, {
      onData: (_c, d) => got.push(text(d)),
    }, { serverName: "::1", ca: certs.ca, verify: true, handshakeTimeoutMs: 2000 });
    conn.write(bytes("x"));
    await until("the IPv6 echo", () => got.join("") === "echo6:x");
    conn.close();
    v6.close();
  });

  it("refuses a certificate for another name, an expired one and an untrusted one", async () => {
    await assert.rejects(client("other.test").conn, /match|name|NotValidForName|altnames/i);
    for (
      const [what, pem] of [["expired", certs.expired], ["self-signed", certs.selfSigned]] as const
    ) {
      const l = await listen(pem);
      const conn = rt.connectTls({ host: "127.0.0.1", port: l.local.port }, { onData() {} }, {
        serverName: "pbx.test",
        ca: certs.ca,
        verify: true,
        handshakeTimeoutMs: 2000,
      });
      await assert.rejects(conn, /expired|Expired|issuer|UnknownIssuer|self.signed|verify/i, what);
      l.close();
    }
  });

  it("closes a plain-text client and one that never finishes its handshake, and says why", async () => {
    const before = handshakeErrors.length;
    let plainClosed = false;
    const plain = await rt.connectTcp({ host: "127.0.0.1", port: listener.local.port }, {
      onData() {},
      onClose: () => (plainClosed = true),
    });
    plain.write(bytes("OPTIONS sip:pbx.test SIP/2.0\r\nVia: SIP/2.0/TLS x\r\n\r\n"));
    let silentClosed = false;
    await rt.connectTcp({ host: "127.0.0.1", port: listener.local.port }, {
      onData() {},
      onClose: () => (silentClosed = true),
    });
    await until("both closed", () => plainClosed && silentClosed, 4000);
    await until("both reported", () => handshakeErrors.length >= before + 2);
    assert.ok(
      handshakeErrors.slice(before).some((e) => /not finished within 400 ms/.test(e)),
      handshakeErrors.join("; "),
    );
    assert.ok(!received.some((r) => r.startsWith("OPTIONS sip:")), "no plain text delivered");
  });

  it("a reload keeps the established connections and serves the new certificate to new ones", async () => {
    const old = client("pbx.test");
    const kept = await old.conn;
    // The renewed certificate is for other.test: a new connection checked against
    // pbx.test now fails, one checked against other.test succeeds.
    listener = await listener.reload({ ...certs.wrongName, handshakeTimeoutMs: 400 });
    kept.write(bytes("after-reload"));
    await until("the old connection's echo", () => old.got.join("") === "echo:after-reload");
    await assert.rejects(client("pbx.test").conn, /match|name|altnames/i);
    const fresh = client("other.test");
    const conn = await withTimeout(fresh.conn, 5000, "TLS connect after the reload");
    conn.write(bytes("new"));
    await until("the new connection's echo", () => fresh.got.join("") === "echo:new");
    conn.close();
    kept.close();
    listener = await listener.reload({ ...certs.server, handshakeTimeoutMs: 400 });
  });

  it("verify: false takes a self-signed certificate and one for another name", async () => {
    for (const pem of [certs.wrongName, certs.selfSigned]) {
      const l = await listen(pem);
      const conn = rt.connectTls({ host: "127.0.0.1", port: l.local.port }, { onData() {} }, {
        serverName: "pbx.test",
        verify: false,
        handshakeTimeoutMs: 2000,
      });
      (await conn).close();
      l.close();
    }
  });
});
