// The live status page at `/`, in a real headless Chromium: it shows every pair and
// member, and redraws itself after a failover without a page reload.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeSipServer } from "../support/fake-sip-server.ts";
import { startFakePair } from "../support/fake-pair.ts";
import { type Browser, chromiumMissing, openPage } from "../support/chromium.ts";
import {
  type Proc,
  startVipless,
  tempDir,
  type TestConfig,
  writeConfig,
} from "../support/vipless-process.ts";
import { RUNTIME } from "../support/current-runtime.ts";

const TOKEN = "page-secret";
const missing = chromiumMissing();
if (missing) console.log(`status page browser test skipped: ${missing}`);

/** Polls `probe` in the page until `ok` accepts its value (bounded: 60 tries of 250 ms). */
async function until<T>(
  browser: Browser,
  probe: string,
  ok: (v: T) => boolean,
  what: string,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 60; i++) {
    last = await browser.evaluate<T>(probe);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`page never showed ${what}; last: ${JSON.stringify(last)}`);
}

const PAIR = `(() => {
  const p = document.querySelector('[data-pair="site-a"]');
  if (!p) return null;
  return {
    state: p.dataset.state,
    active: p.dataset.active,
    members: [...p.querySelectorAll("tr[data-member]")].map((r) => ({
      role: r.dataset.member, status: r.dataset.status, active: r.dataset.active,
      uri: r.querySelector("td.uri").textContent, rtt: r.querySelector("td.rtt").textContent,
    })),
    reasons: [...p.querySelectorAll("tr.switchover td.reason")].map((td) => td.textContent),
    marker: window.__notReloaded === true,
    counters: document.querySelectorAll("#counters tr[data-counter]").length,
  };
})()`;

type PairView = {
  state: string;
  active: string;
  members: Array<{ role: string; status: string; active: string; uri: string; rtt: string }>;
  reasons: string[];
  marker: boolean;
  counters: number;
} | null;

describe(`status page in headless Chromium (${RUNTIME})`, { skip: missing ?? false }, () => {
  let primary: FakeSipServer;
  let backup: FakeSipServer;
  let proc: Proc;
  let cfg: TestConfig;
  let browser: Browser | undefined;

  before(async () => {
    ({ primary, backup, cfg } = await startFakePair());
    proc = startVipless(["--config", writeConfig(tempDir(), cfg)], {
      VIPLESS_TEST_TOKEN: TOKEN,
    });
    await proc.waitForOutput(/"event":"listener-opened","transport":"http"/);
  });
  after(async () => {
    await browser?.close();
    await proc?.stop();
    primary?.stop();
    backup?.stop();
  });

  it("a browser gets HTML at /, curl gets the /status JSON", async () => {
    const html = await fetch(`http://127.0.0.1:${cfg.httpPort}/`, {
      headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(html.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(await html.text(), /<title>vipless status<\/title>/);
    const json = await fetch(`http://127.0.0.1:${cfg.httpPort}/`, { headers: { accept: "*/*" } });
    assert.match(json.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal((await json.json()).pairs[0].name, "site-a");
  });

  it("shows the pair, its members and counters, and follows a failover without reloading", async () => {
    browser = await openPage(`http://127.0.0.1:${cfg.httpPort}/`);
    const up = await until<PairView>(
      browser,
      PAIR,
      (v) => v?.state === "active-primary" && v.members.every((m) => m.status === "up"),
      "both members up, primary active",
    );
    assert.deepEqual(up!.members.map((m) => [m.role, m.active, m.uri]), [
      ["primary", "true", `sip:127.0.0.1:${primary.address.port}`],
      ["backup", "false", `sip:127.0.0.1:${backup.address.port}`],
    ]);
    assert.match(up!.members[0].rtt, /^\d+(\.\d+)? ms$/);
    assert.ok(up!.counters > 0, "the counters table is filled from /metrics");
    // A variable in the page: a reload would lose it.
    await browser.evaluate("window.__notReloaded = true");

    primary.stop(); // the primary dies: probes time out, the backup takes over
    const after = await until<PairView>(
      browser,
      PAIR,
      (v) => v?.state === "active-backup",
      "the backup active",
    );
    assert.equal(after!.active, "backup");
    assert.equal(after!.members[0].status, "down");
    assert.equal(after!.members[1].active, "true");
    assert.ok(after!.reasons.includes("probe-timeout"), `history: ${after!.reasons}`);
    assert.equal(after!.marker, true, "the page updated in place, not by a reload");

    // Maintenance set over the admin API shows on the member's row.
    const res = await fetch(
      `http://127.0.0.1:${cfg.httpPort}/pairs/site-a/members/primary/maintenance`,
      { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } },
    );
    assert.equal(res.status, 200, await res.text());
    await until<string>(
      browser,
      `document.querySelector('[data-pair="site-a"] tr[data-member="primary"]')?.dataset.maintenance`,
      (v) => v === "true",
      "the primary in maintenance",
    );
  });
});
