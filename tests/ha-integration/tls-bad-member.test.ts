/**
 * Members whose certificates must be refused (issue 12, bad input): an expired one, a
 * self-signed one and one for another name. vipless's TLS connection to each fails in
 * its handshake; each failure is logged (tls-handshake-failed) and counted
 * (vipless_tls_failures_total{kind="outbound"}), the member counts as down, and the
 * pair's good member keeps the calls.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { TlsListener } from "../../src/runtime/types.ts";
import { makeCerts, opensslMissing, type Pem, type TestCerts } from "../support/certs.ts";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { getRuntime, setPeerTls } from "../support/peer-transport.ts";
import { TestUa } from "../support/test-ua.ts";
import { CALLEE, Cleanup, RUNTIME, TEST_TIMEOUT_MS, Vipless, waitUntil } from "./harness.ts";

const missing = opensslMissing();
if (missing) console.log(`tests/ha-integration/tls-bad-member: skipped: ${missing}`);

describe(`members with bad certificates (${RUNTIME})`, { skip: missing ?? false }, () => {
  const c = new Cleanup();
  let certs: TestCerts;
  const bad: TlsListener[] = [];
  before(() => {
    certs = makeCerts();
    setPeerTls({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca });
  });
  after(async () => {
    await c.run();
    for (const l of bad) l.close();
  });

  for (
    const [what, pick] of [
      ["expired", (t: TestCerts) => t.expired],
      ["self-signed", (t: TestCerts) => t.selfSigned],
      ["for another name", (t: TestCerts) => t.wrongName],
    ] as Array<[string, (t: TestCerts) => Pem]>
  ) {
    it(`a backup whose certificate is ${what}: refused, logged, counted, down`, {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const rt = await getRuntime();
      // A TLS server with the bad certificate; nothing it would say is ever read.
      const l = await rt.listenTls({ host: "127.0.0.1", port: 0 }, { onData() {} }, {
        ...pick(certs),
        handshakeTimeoutMs: 2000,
      });
      bad.push(l);
      const good = c.peer(await FakeSipServer.start({ transport: "tls", name: "good" }));
      const vip = c.vipless(
        (await Vipless.startWith(`tls: { ca: ${certs.caPath} }
pairs:
  - name: site-a
    primary: sips:127.0.0.1:${good.address.port}
    backup: sips:127.0.0.1:${l.local.port}
log: { level: info, format: json }
`)).vip,
      );
      await vip.waitForEvent({ event: "tls-handshake-failed", port: l.local.port }, 10_000);
      await waitUntil(
        async () => {
          const p = await vip.pair("site-a");
          return p.members.find((m) => m.role === "backup")?.status === "down" &&
            p.members.find((m) => m.role === "primary")?.status === "up";
        },
        10_000,
        "backup down, primary up",
        () => vip.proc.output(),
      );
      const metrics = await (await vip.http("/metrics")).text();
      const n = /vipless_tls_failures_total\{kind="outbound"\} (\d+)/.exec(metrics);
      assert.ok(n && Number(n[1]) >= 1, "outbound TLS failures counted");
      const ua = c.peer(await TestUa.start({ transport: "udp" }));
      assert.equal((await ua.call(vip.sip, { to: CALLEE })).status, 200);
    });
  }
});
