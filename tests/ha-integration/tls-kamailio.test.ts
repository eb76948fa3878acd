/**
 * Kamailio's tls module as the pair's members (a TLS SIP server that is not vipless's
 * own test peer): vipless probes both over TLS, checking their certificates against the
 * test CA, a TLS caller's call is answered by the primary Kamailio, and when it stops
 * the backup Kamailio takes the calls.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { makeCerts, opensslMissing, type TestCerts } from "../support/certs.ts";
import { type Kamailio, kamailioMissing, startKamailioTls } from "../support/kamailio.ts";
import { setPeerTls } from "../support/peer-transport.ts";
import { TestUa } from "../support/test-ua.ts";
import { freePort } from "../support/vipless-process.ts";
import {
  CALLEE,
  Cleanup,
  DETECTION_BOUND_MS,
  RUNTIME,
  TEST_TIMEOUT_MS,
  Vipless,
} from "./harness.ts";

const missing = opensslMissing() ?? kamailioMissing();
if (missing) console.log(`tests/ha-integration/tls-kamailio: skipped: ${missing}`);

describe(`Kamailio over TLS as the pair (${RUNTIME})`, { skip: missing ?? false }, () => {
  const c = new Cleanup();
  let certs: TestCerts;
  let primary: Kamailio, backup: Kamailio;
  let vip: Vipless;
  let tlsPort: number;
  before(async () => {
    certs = makeCerts();
    setPeerTls({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca });
    primary = await startKamailioTls(await freePort("tcp"), certs.server);
    backup = await startKamailioTls(await freePort("tcp"), certs.server);
    tlsPort = await freePort("tcp");
    vip = c.vipless(
      (await Vipless.startWith(
        `failover: { timeout: 500ms }
tls: { cert: ${certs.server.certPath}, key: ${certs.server.keyPath}, ca: ${certs.caPath} }
pairs:
  - name: site-a
    primary: sips:127.0.0.1:${primary.port}
    backup: sips:127.0.0.1:${backup.port}
log: { level: debug, format: json }
`,
        { tlsPort },
      )).vip,
    );
  });
  after(async () => {
    await c.run();
    await primary?.stop();
    await backup?.stop();
  });

  it("probes Kamailio over TLS, calls reach it, and fail over to the backup Kamailio", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    await vip.waitAllUp(["site-a"], 15_000);
    const ua = c.peer(await TestUa.start({ transport: "tls", name: "alice" }));
    const target = { host: "127.0.0.1", port: tlsPort };
    const first = await ua.call(target, { to: CALLEE });
    assert.equal(first.status, 200);
    const mark = vip.events().length;
    await primary.stop();
    const { event } = await vip.waitForEvent(
      { event: "switchover", pair: "site-a" },
      DETECTION_BOUND_MS * 2,
      mark,
    );
    assert.equal(event.to, `sips:127.0.0.1:${backup.port}`);
    const after = await ua.call(target, { to: CALLEE });
    assert.equal(after.status, 200);
    const p = await vip.pair("site-a");
    assert.equal(p.activeRole, "backup");
  });
});
