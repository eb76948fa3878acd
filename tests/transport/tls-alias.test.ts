// RFC 5923 `alias` on the TLS listener, against real TLS sockets on 127.0.0.1 with
// certificates made by openssl for this run. A client whose top Via asks for alias gets
// later requests to its Via sent-by over its own connection only when its certificate
// verifies against tls.ca and names the sent-by host (RFC 5923 §10); otherwise vipless
// opens a connection of its own to that address, and the ignored alias is reported.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeCerts, opensslMissing, type Pem, type TestCerts } from "../support/certs.ts";
import {
  detectRuntime,
  type Runtime,
  type TcpConnection,
  type TlsListener,
} from "../../src/runtime/index.ts";
import { type AliasRefusal, SipTransport } from "../../src/transport/sip-transport.ts";
import type { InboundSource } from "../../src/transport/types.ts";
import { sleep } from "../support/wait.ts";

const missing = opensslMissing();
if (missing) console.log(`tests/transport/tls-alias: skipped: ${missing}`);

const enc = new TextEncoder();
const dec = new TextDecoder();

function options(viaPort: number, alias: boolean, n: number): string {
  return `OPTIONS sip:vipless@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/TLS 127.0.0.1:${viaPort};branch=z9hG4bKalias${n}${alias ? ";alias" : ""}\r\n` +
    "Max-Forwards: 70\r\nTo: <sip:vipless@127.0.0.1>\r\nFrom: <sip:ua@127.0.0.1>;tag=1\r\n" +
    `Call-ID: alias-${n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
}

const MESSAGE = (n: number) =>
  `MESSAGE sip:ua@127.0.0.1 SIP/2.0\r\n` +
  `Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKlater${n}\r\n` +
  "Max-Forwards: 70\r\nTo: <sip:ua@127.0.0.1>\r\nFrom: <sip:vipless@127.0.0.1>;tag=2\r\n" +
  `Call-ID: later-${n}\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n`;

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A TLS client of vipless that also listens where its Via says it does. */
interface Client {
  /** Bytes that arrived on the connection the client opened to vipless. */
  onOwn: string[];
  /** Bytes that arrived on connections vipless opened to the client's listener. */
  onListener: string[];
  /** Connections the client's listener accepted. */
  accepted: number;
  viaPort: number;
}

describe("RFC 5923 alias on the TLS listener", { skip: missing ?? false }, () => {
  let rt: Runtime;
  let certs: TestCerts;
  let transport: SipTransport;
  let port: number;
  const received: Array<{ text: string; src: InboundSource }> = [];
  const ignored: Array<{ reason: AliasRefusal; host: string; port: number }> = [];
  const closers: Array<{ close(): void }> = [];
  let n = 0;

  before(async () => {
    rt = await detectRuntime();
    certs = makeCerts();
    transport = new SipTransport(rt, {
      onMessage: (bytes, src) => received.push({ text: dec.decode(bytes), src }),
      onDrop() {},
      onAliasIgnored: (reason, _src, target) => ignored.push({ reason, ...target }),
    }, {
      maxMessageBytes: 65535,
      tcp: {
        maxConnections: 100,
        maxConnectionsPerSource: 0,
        messageTimeoutMs: 5000,
        idleTimeoutMs: 60_000,
        maxHeaderBytes: 16384,
      },
      udpBufferBytes: null,
    });
    await transport.setTls({
      server: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca },
      // vipless's connections to the client's listener check it against the test CA.
      client: (to, handshakeTimeoutMs) => ({
        serverName: to.host,
        ca: certs.ca,
        verify: true,
        handshakeTimeoutMs,
      }),
    });
    const [opened] = await transport.listen([{ transport: "tls", host: "127.0.0.1", port: 0 }]);
    port = opened!.port;
  });
  after(() => {
    for (const c of closers) c.close();
    transport.close();
  });

  /** Connects (with `pem` as its certificate, or none), sends an OPTIONS with its Via. */
  async function client(pem: Pem | null, alias = true): Promise<Client> {
    const c: Client = { onOwn: [], onListener: [], accepted: 0, viaPort: 0 };
    const listener: TlsListener = await rt.listenTls({ host: "127.0.0.1", port: 0 }, {
      onOpen: () => c.accepted++,
      onData: (_conn, data) => c.onListener.push(dec.decode(data)),
    }, { cert: certs.server.cert, key: certs.server.key, handshakeTimeoutMs: 5000 });
    closers.push(listener);
    c.viaPort = listener.local.port;
    const conn: TcpConnection = await rt.connectTls({ host: "127.0.0.1", port }, {
      onData: (_conn, data) => c.onOwn.push(dec.decode(data)),
    }, {
      serverName: "127.0.0.1",
      ca: certs.ca,
      verify: true,
      handshakeTimeoutMs: 5000,
      ...(pem ? { cert: pem.cert, key: pem.key } : {}),
    });
    closers.push(conn);
    const id = ++n;
    conn.write(enc.encode(options(c.viaPort, alias, id)));
    await until(() => received.some((r) => r.text.includes(`alias-${id}`)), 5000, "the OPTIONS");
    return c;
  }

  /** What a later request to the client's Via address does: which connection carries it. */
  async function later(c: Client): Promise<"reused" | "new connection"> {
    const id = ++n;
    transport.send(enc.encode(MESSAGE(id)), {
      transport: "tls",
      host: "127.0.0.1",
      port: c.viaPort,
    });
    const tag = `later-${id}`;
    await until(
      () => [...c.onOwn, ...c.onListener].some((t) => t.includes(tag)),
      5000,
      "the MESSAGE at the client",
    );
    return c.onOwn.some((t) => t.includes(tag)) ? "reused" : "new connection";
  }

  it("a client with a certificate for its Via host: later requests reuse its connection", async () => {
    const c = await client(certs.server);
    assert.equal(await later(c), "reused");
    assert.equal(await later(c), "reused");
    assert.equal(c.accepted, 0, "vipless opened no connection of its own");
    assert.deepEqual(ignored, []);
  });

  it("without alias in the Via a certified client's connection is not taken for its Via", async () => {
    const c = await client(certs.server, false);
    assert.equal(await later(c), "new connection");
    assert.equal(c.accepted, 1);
    assert.deepEqual(ignored, []);
  });

  it("alias from a client without a certificate is ignored, reported, counted", async () => {
    const c = await client(null);
    assert.equal(await later(c), "new connection");
    assert.equal(c.accepted, 1);
    assert.deepEqual(ignored.at(-1), {
      reason: "no-certificate",
      host: "127.0.0.1",
      port: c.viaPort,
    });
    assert.deepEqual(new Map(transport.aliasRefusalCounts()).get("no-certificate"), 1);
  });

  it("a certificate naming another host, or not signed by tls.ca, proves nothing", async () => {
    const wrong = await client(certs.wrongName);
    assert.equal(await later(wrong), "new connection");
    assert.equal(ignored.at(-1)?.reason, "name-mismatch");
    const self = await client(certs.selfSigned);
    assert.equal(await later(self), "new connection");
    assert.equal(ignored.at(-1)?.reason, "unverified-certificate");
    const counts = new Map(transport.aliasRefusalCounts());
    assert.equal(counts.get("name-mismatch"), 1);
    assert.equal(counts.get("unverified-certificate"), 1);
  });
});
