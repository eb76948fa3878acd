/**
 * RFC 5923 connection reuse through vipless, with certificates made by openssl for this
 * run. A TLS client whose Via carries `alias` and whose certificate (signed by tls.ca)
 * names its Via host gets a member's later request to that address over the connection
 * it opened; one without a certificate gets a new connection from vipless, a log line
 * (`tls-alias-ignored`) and a count. With tls.client_cert vipless's own Via over TLS
 * offers `alias` to the member.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeCerts, opensslMissing, type Pem, type TestCerts } from "../support/certs.ts";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { getRuntime, setPeerTls } from "../support/peer-transport.ts";
import { SipFramer } from "../support/sip-framer.ts";
import { TestUa } from "../support/test-ua.ts";
import { freePort } from "../support/vipless-process.ts";
import { CALLEE, Cleanup, RUNTIME, TEST_TIMEOUT_MS, Vipless, waitUntil } from "./harness.ts";

const missing = opensslMissing();
if (missing) console.log(`tests/ha-integration/tls-alias: skipped: ${missing}`);

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A 200 to `request` (its Via, From, To, Call-ID and CSeq lines copied). */
function ok(request: string): Uint8Array {
  const keep = request.split("\r\n").filter((l) => /^(via|from|to|call-id|cseq)\s*:/i.test(l));
  return enc.encode(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"));
}

/** A TLS UA with a listener where its Via says, and a connection of its own to vipless. */
interface AliasUa {
  viaPort: number;
  /** Requests that came on the connection it opened. */
  own: string[];
  /** Requests that came on connections vipless opened to its listener. */
  dialled: string[];
}

describe(`RFC 5923 alias through vipless (${RUNTIME})`, { skip: missing ?? false }, () => {
  const c = new Cleanup();
  let certs: TestCerts;
  let tlsMember: FakeSipServer, udpMember: FakeSipServer;
  let vip: Vipless;
  let tlsPort: number;
  let n = 0;
  before(async () => {
    certs = makeCerts();
    setPeerTls({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca });
    [tlsMember, udpMember] = c.peersOf([
      await FakeSipServer.start({ transport: "tls", name: "tls-member" }),
      await FakeSipServer.start({ transport: "udp", name: "udp-member" }),
    ]);
    tlsPort = await freePort("tcp");
    vip = c.vipless(
      (await Vipless.startWith(
        `tls: { cert: ${certs.server.certPath}, key: ${certs.server.keyPath}, ca: ${certs.caPath}, client_cert: true }
pairs:
  - name: site-a
    primary: sips:127.0.0.1:${tlsMember.address.port}
    backup: sip:127.0.0.1:${udpMember.address.port}
log: { level: debug, format: json }
`,
        { tlsPort },
      )).vip,
    );
    await vip.waitAllUp(["site-a"]);
  });
  after(() => c.run());

  /** Opens the UA's listener and its connection to vipless; its OPTIONS asks for alias. */
  async function aliasUa(pem: Pem | null): Promise<AliasUa> {
    const rt = await getRuntime();
    const ua: AliasUa = { viaPort: 0, own: [], dialled: [] };
    let answered = false;
    // Answers each request with a 200 and notes it; a response is vipless's to our OPTIONS.
    const reader = (into: string[]) => {
      const framer = new SipFramer();
      return (conn: { write(b: Uint8Array): void }, data: Uint8Array) => {
        for (const bytes of framer.push(data)) {
          const text = dec.decode(bytes);
          if (text.startsWith("SIP/2.0 200")) answered = true;
          if (text.startsWith("SIP/2.0 ")) continue;
          into.push(text);
          conn.write(ok(text));
        }
      };
    };
    const listener = await rt.listenTls({ host: "127.0.0.1", port: 0 }, {
      onData: reader(ua.dialled),
    }, { cert: certs.server.cert, key: certs.server.key, handshakeTimeoutMs: 5000 });
    c.peer({ stop: () => listener.close() });
    ua.viaPort = listener.local.port;
    const conn = await rt.connectTls({ host: "127.0.0.1", port: tlsPort }, {
      onData: reader(ua.own),
    }, {
      serverName: "127.0.0.1",
      ca: certs.ca,
      verify: true,
      handshakeTimeoutMs: 5000,
      ...(pem ? { cert: pem.cert, key: pem.key } : {}),
    });
    c.peer({ stop: () => conn.close() });
    const id = ++n;
    conn.write(enc.encode(
      `OPTIONS sip:127.0.0.1:${tlsPort} SIP/2.0\r\n` +
        `Via: SIP/2.0/TLS 127.0.0.1:${ua.viaPort};branch=z9hG4bKua${id};alias\r\n` +
        `Max-Forwards: 70\r\nTo: <sip:127.0.0.1:${tlsPort}>\r\n` +
        `From: <sip:ua@127.0.0.1:${ua.viaPort}>;tag=${id}\r\n` +
        `Call-ID: alias-ua-${id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    ));
    await waitUntil(() => answered, 5000, "vipless's 200 to the OPTIONS");
    return ua;
  }

  /** The UDP member sends a MESSAGE to the UA's Via address; which connection carries it. */
  async function memberMessage(ua: AliasUa): Promise<"reused" | "new connection"> {
    const uri = `sip:ua@127.0.0.1:${ua.viaPort};transport=tls`;
    const result = await udpMember.sendRequest(vip.sip, "MESSAGE", { uri }).result;
    assert.equal(result.status, 200);
    const callId = result.final!.get("call-id")!;
    const on = (list: string[]) => list.some((t) => t.includes(callId));
    assert.ok(on(ua.own) !== on(ua.dialled), "the MESSAGE came once");
    return on(ua.own) ? "reused" : "new connection";
  }

  it("with tls.client_cert vipless's Via over TLS offers alias to the member", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    // First: the member's MESSAGEs below come from the backup, which then takes over.
    const caller = c.peer(await TestUa.start({ transport: "udp", name: "carol" }));
    assert.equal((await caller.call(vip.sip, { to: CALLEE })).status, 200);
    const invite = tlsMember.requests("INVITE").at(-1)!;
    assert.match(invite.msg.getAll("Via")[0]!, /^SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;.*;alias(;|$)/);
  });

  it("a client with a certificate for its Via host: the member's request reuses its connection", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const ua = await aliasUa(certs.server);
    assert.equal(await memberMessage(ua), "reused");
    assert.equal(await memberMessage(ua), "reused");
    assert.deepEqual(ua.dialled, []);
  });

  it("without a certificate the alias is ignored: vipless connects, logs and counts", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const ua = await aliasUa(null);
    assert.equal(await memberMessage(ua), "new connection");
    assert.deepEqual(ua.own, []);
    await vip.waitForEvent({ event: "tls-alias-ignored", reason: "no-certificate" }, 5000);
    const metrics = await (await vip.http("/metrics")).text();
    assert.match(metrics, /vipless_tls_alias_ignored_total\{reason="no-certificate"\} 1\b/);
  });
});
