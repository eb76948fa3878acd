/**
 * Makes docs/status-page.png, the README's picture of the status page: two demo pairs on
 * this machine, a failover in one (its primary stopped), a member in maintenance in the
 * other, then headless Chromium's screenshot of `/`. Run: `bun scripts/status-page-screenshot.ts`.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FakeSipServer } from "../tests/support/fake-sip-server.ts";
import { freePort, ROOT, startVipless, tempDir } from "../tests/support/vipless-process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const servers = await Promise.all(
  ["a1", "a2", "b1", "b2"].map((name) => FakeSipServer.start({ transport: "udp", name })),
);
const [a1, a2, b1, b2] = servers.map((s) => `sip:127.0.0.1:${s.address.port}`);
const sip = await freePort();
const http = await freePort("tcp");
const config = join(tempDir(), "vipless.yaml");
writeFileSync(
  config,
  `listen: [udp://127.0.0.1:${sip}, tcp://127.0.0.1:${sip}]
advertise: 127.0.0.1:${sip}
serve: site-a
http: { listen: 127.0.0.1:${http}, token_env: SCREENSHOT_TOKEN }
probe: { interval: 500ms, timeout: 300ms }
pairs:
  - { name: site-a, primary: ${a1}, backup: ${a2} }
  - { name: site-b, primary: ${b1}, backup: ${b2} }
log: { level: warning, format: json }
`,
);
const token = "screenshot";
const vipless = startVipless(["--config", config], { SCREENSHOT_TOKEN: token });
try {
  await sleep(6000);
  servers[0]!.stop(); // site-a's primary dies: the backup takes over
  await sleep(3000);
  const res = await fetch(`http://127.0.0.1:${http}/pairs/site-b/members/backup/maintenance`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) console.error(`maintenance: ${res.status} ${await res.text()}`);
  await sleep(4000);
  const out = join(ROOT, "docs/status-page.png");
  // Not spawnSync: the demo servers live in this process and must keep answering probes.
  const chromium = spawn(process.env.CHROMIUM ?? "chromium", [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--window-size=1200,900",
    "--virtual-time-budget=4000",
    `--screenshot=${out}`,
    `http://127.0.0.1:${http}/`,
  ], { stdio: "ignore" });
  const code = await new Promise((r) => chromium.on("exit", r));
  if (code !== 0) throw new Error(`chromium exited ${code}`);
  console.log(`wrote ${out}`);
} finally {
  await vipless.stop();
  for (const s of servers) s.stop();
}
