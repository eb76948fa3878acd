// What the operator's metrics and the drain do through the service glue (proxy, router,
// registry and the metrics registry as they run) on a fake clock: per-member forwarded,
// retried and timed-out counts of a failover, a renamed pair reported under its new
// name only, and a draining core that refuses new dialogs but not in-dialog requests.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/index.ts";
import { TRYING_DELAY_MS } from "../../src/proxy/delayed-trying.ts";
import { type SipCore } from "../../src/service/sip-core.ts";
import { buildRequest, parseMessage } from "../support/sip-text.ts";
import { type CoreRig, coreRig, probeAnswer, type Sent } from "./core-rig.ts";
import { FakeClock } from "./fake-runtime.ts";

const config = (name: string) =>
  `advertise: 192.0.2.10:5060
serve: ${name}
probe: { interval: 1s, timeout: 500ms, failures: 2, force_interval: 500ms }
failover: { timeout: 500ms }
pairs:
  - name: ${name}
    primary: sip:10.0.0.11:5060
    backup: sip:10.0.0.12:5060
`;
const LOCAL = { host: "192.0.2.10", port: 5060 };
const CALLER = { transport: "udp" as const, host: "203.0.113.5", port: 5062 };
const PRIMARY = 'pair="site-a",role="primary",member="sip:10.0.0.11:5060"';
const BACKUP = 'pair="site-a",role="backup",member="sip:10.0.0.12:5060"';

/** sip-core over a fake clock; both members answer probes, no member answers INVITEs. */
class Glue {
  readonly clock = new FakeClock();
  readonly out: Sent[] = [];
  readonly core: SipCore;
  readonly metrics: CoreRig["metrics"];
  #answered = 0;

  constructor() {
    ({ core: this.core, metrics: this.metrics } = coreRig({
      config: config("site-a"),
      rt: this.clock.runtime(),
      send: (bytes, to) => this.out.push({ to, msg: parseMessage(bytes) }),
    }));
    this.core.start([{ transport: "udp", ...LOCAL }]);
  }

  run(ms: number): void {
    for (let t = 0; t < ms; t += 5) {
      this.clock.advance(5);
      const probes = this.out.filter((o) => o.msg.method === "OPTIONS");
      for (const p of probes.slice(this.#answered)) {
        if (p.msg.kind !== "request") continue;
        const text = probeAnswer(p.msg, 200);
        this.core.onMessage(new TextEncoder().encode(text), { ...p.to, local: LOCAL });
      }
      this.#answered = probes.length;
    }
  }

  /** A request from the caller; `toTag` makes it an in-dialog one. */
  send(method: string, n: number, toTag?: string): void {
    const text = buildRequest(method, "sip:bob@192.0.2.10:5060", [
      ["Via", `SIP/2.0/UDP ${CALLER.host}:${CALLER.port};branch=z9hG4bKop${method}${n}`],
      ["Max-Forwards", "70"],
      ["From", `<sip:alice@${CALLER.host}>;tag=a${n}`],
      ["To", `<sip:bob@192.0.2.10>${toTag ? `;tag=${toTag}` : ""}`],
      ["Call-ID", `op-${n}@test`],
      ["CSeq", `1 ${method}`],
      ["Contact", `<sip:alice@${CALLER.host}:${CALLER.port}>`],
    ]);
    this.core.onMessage(new TextEncoder().encode(text), { ...CALLER, local: LOCAL });
  }

  /** Requests forwarded to members, by host. */
  forwardedTo(method: string): string[] {
    return this.out.filter((o) => o.msg.kind === "request" && o.msg.method === method)
      .map((o) => o.to.host);
  }

  /** Responses vipless sent to the caller, by status. */
  answers(): number[] {
    return this.out.filter((o) => o.msg.kind === "response" && o.to.host === CALLER.host)
      .map((o) => o.msg.status);
  }

  sample(series: string): number | undefined {
    const line = this.metrics.registry.render().split("\n").find((l) => l.startsWith(series + " "));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }
}

describe("operator metrics through the service glue", () => {
  it("a failover counts forwarded and timed out at the primary, forwarded and retried at the backup", () => {
    const g = new Glue();
    g.run(1_500);
    for (const kind of ["forwarded", "retried", "failed", "timed_out"]) {
      assert.equal(g.sample(`vipless_member_${kind}_total{${PRIMARY}}`), 0, `${kind} at 0`);
    }
    g.send("INVITE", 1);
    g.run(600); // failover.timeout: the silent primary is given up, the backup tried
    // (the primary's twice: Timer A retransmitted it at 500 ms)
    assert.deepEqual([...new Set(g.forwardedTo("INVITE"))], ["10.0.0.11", "10.0.0.12"]);
    assert.equal(g.sample(`vipless_member_forwarded_total{${PRIMARY}}`), 1);
    assert.equal(g.sample(`vipless_member_timed_out_total{${PRIMARY}}`), 1);
    assert.equal(g.sample(`vipless_member_retried_total{${PRIMARY}}`), 0);
    assert.equal(g.sample(`vipless_member_forwarded_total{${BACKUP}}`), 1);
    assert.equal(g.sample(`vipless_member_retried_total{${BACKUP}}`), 1);
    assert.equal(g.sample(`vipless_member_failed_total{${BACKUP}}`), 0);
    const ok = g.sample(`vipless_probe_results_total{${PRIMARY},result="ok"}`);
    assert.ok(ok! >= 1, `probe results by outcome: ${ok}`);
    assert.equal(g.sample(`vipless_member_up{${PRIMARY}}`), 1);
  });

  it("a pair renamed on SIGHUP keeps its counts under its new name, and no series keeps the old one", () => {
    const g = new Glue();
    g.run(1_500);
    g.core.switchover("site-a", false);
    g.send("INVITE", 2);
    const renamed = parseConfig(config("renamed"), "test.yaml");
    assert.ok(renamed.ok);
    g.core.reconfigure(renamed.config);
    const text = g.metrics.registry.render();
    assert.deepEqual(text.split("\n").filter((l) => l.includes('pair="site-a"')), []);
    assert.equal(g.sample('vipless_switchovers_total{pair="renamed",reason="manual"}'), 1);
    const backup = 'pair="renamed",role="backup",member="sip:10.0.0.12:5060"';
    assert.equal(g.sample(`vipless_member_forwarded_total{${backup}}`), 1);
    assert.equal(g.sample(`vipless_pair_active_member{${backup}}`), 1);
  });

  it("draining: not ready, new dialogs get 503 with Retry-After, in-dialog requests still go to the active member", () => {
    const g = new Glue();
    g.run(1_500);
    assert.equal(g.core.ready(), true);
    g.send("INVITE", 3);
    assert.equal(g.core.busyTransactions(), 2, "the INVITE's server and client transactions");
    g.core.drain();
    assert.equal(g.core.ready(), false);
    const before = g.forwardedTo("INVITE").length;
    g.send("INVITE", 4);
    g.send("SUBSCRIBE", 5);
    assert.equal(g.forwardedTo("INVITE").length, before, "no new INVITE forwarded");
    assert.deepEqual(g.forwardedTo("SUBSCRIBE"), []);
    const refused = g.out.filter((o) => o.msg.kind === "response" && o.msg.status === 503);
    assert.equal(refused.length, 2);
    assert.ok(refused.every((r) => /^\d+$/.test(r.msg.get("retry-after") ?? "")));
    g.send("BYE", 6, "bobtag");
    assert.deepEqual(g.forwardedTo("BYE"), ["10.0.0.11"], "in-dialog: forwarded as always");
    g.run(TRYING_DELAY_MS);
    assert.ok(g.answers().includes(100), "the INVITE in flight goes on: its 100 Trying");
  });
});
