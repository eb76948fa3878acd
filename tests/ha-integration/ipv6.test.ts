/**
 * IPv6 end to end through vipless on [::1]: a UDP pair member and a TLS one (its
 * certificate names ::1), UDP and TLS callers, probes, a call each way, and the
 * Record-Route naming vipless's IPv6 address in brackets.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCerts, opensslMissing, type TestCerts } from "../support/certs.ts";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { getRuntime, setPeerTls } from "../support/peer-transport.ts";
import { TestUa } from "../support/test-ua.ts";
import { startVipless, tempDir } from "../support/vipless-process.ts";
import { CALLEE, Cleanup, PROBE, RUNTIME, TEST_TIMEOUT_MS, Vipless } from "./harness.ts";

const missing = opensslMissing();
if (missing) console.log(`tests/ha-integration/ipv6: skipped: ${missing}`);

/** A free port on ::1 for both UDP and TCP. */
async function freePort6(): Promise<number> {
  const rt = await getRuntime();
  for (let i = 0; i < 20; i++) {
    const l = await rt.listenTcp({ host: "::1", port: 0 }, { onData() {} });
    const port = l.local.port;
    l.close();
    try {
      (await rt.bindUdp({ host: "::1", port }, { onMessage() {} })).close();
      return port;
    } catch { /* taken for UDP */ }
  }
  throw new Error("no free port on ::1");
}

describe(`IPv6 end to end, UDP and TLS (${RUNTIME})`, { skip: missing ?? false }, () => {
  const c = new Cleanup();
  let certs: TestCerts;
  let udpMember: FakeSipServer, tlsMember: FakeSipServer;
  let vip: Vipless;
  let tlsPort: number;
  before(async () => {
    certs = makeCerts();
    setPeerTls({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca });
    udpMember = c.peer(await FakeSipServer.start({ transport: "udp", host: "::1", name: "v6udp" }));
    tlsMember = c.peer(await FakeSipServer.start({ transport: "tls", host: "::1", name: "v6tls" }));
    const sipPort = await freePort6();
    tlsPort = await freePort6();
    const httpPort = await freePort6();
    const path = join(tempDir(), "vipless.yaml");
    writeFileSync(
      path,
      `listen: ["udp://[::1]:${sipPort}", "tls://[::1]:${tlsPort}"]
advertise: "[::1]:${sipPort}"
http: { listen: "[::1]:${httpPort}" }
probe: { interval: ${PROBE.intervalMs}ms, timeout: ${PROBE.timeoutMs}ms, failures: ${PROBE.failures}, force_interval: ${PROBE.forceIntervalMs}ms }
tls: { cert: ${certs.server.certPath}, key: ${certs.server.keyPath}, ca: ${certs.caPath} }
pairs:
  - name: site-a
    primary: "sip:[::1]:${udpMember.address.port}"
    backup: "sips:[::1]:${tlsMember.address.port}"
log: { level: debug, format: json }
`,
    );
    const proc = startVipless(["--config", path]);
    await proc.waitForOutput(/"event":"listener-opened","transport":"http"/, 20_000);
    vip = c.vipless(Vipless.attach(proc, sipPort, httpPort));
  });
  after(() => c.run());

  it("probes both members, and a TLS caller on ::1 reaches the UDP member (double Record-Route)", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const status = async () =>
      (await (await fetch(`http://[::1]:${vip.httpPort}/status`)).json()) as {
        pairs: Array<{ members: Array<{ role: string; status: string }> }>;
      };
    const deadline = Date.now() + 10_000;
    while (!(await status()).pairs[0]!.members.every((m) => m.status === "up")) {
      if (Date.now() > deadline) throw new Error(`members not up:\n${vip.proc.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(tlsMember.requests("OPTIONS").length > 0, "the TLS member is probed over IPv6");
    const ua = c.peer(await TestUa.start({ transport: "tls", host: "::1", name: "alice6" }));
    const call = await ua.call({ host: "::1", port: tlsPort }, { to: CALLEE });
    assert.equal(call.status, 200);
    const rr = udpMember.requests("INVITE").at(-1)!.msg.getAll("Record-Route");
    assert.deepEqual(rr, [
      `<sip:[::1]:${vip.sipPort};lr;r2=on>`,
      `<sip:[::1]:${tlsPort};transport=tls;lr;r2=on>`,
    ]);
    const udpUa = c.peer(await TestUa.start({ transport: "udp", host: "::1", name: "bob6" }));
    assert.equal(
      (await udpUa.call({ host: "::1", port: vip.sipPort }, { to: CALLEE })).status,
      200,
    );
  });
});
