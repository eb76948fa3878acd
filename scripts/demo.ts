#!/usr/bin/env bun
/**
 * The twenty-second demo of vipless: a primary/backup pair of demo SIP servers, vipless
 * in front of them, calls placed through it without pause, and the primary killed in
 * the middle. Every call still goes through, on the backup.
 *
 *   bun scripts/demo.ts [--transport udp|tcp] [--runtime bun|deno] [--verbose]
 *   deno run -A --unstable-net scripts/demo.ts ...   (same options)
 *
 * Exit code 0 when no call failed, 1 otherwise (or when the demo could not run),
 * 130 on Ctrl-C. Every process and socket it opened is closed on the way out.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { detectRuntime } from "../src/runtime/index.ts";
import { FakeSipServer } from "../tests/support/fake-sip-server.ts";
import { TestUa } from "../tests/support/test-ua.ts";
import { CallLoad, type CallOutcome } from "./demo/call-load.ts";
import { Narrator } from "./demo/narrator.ts";
import { choosePorts, type DemoPorts, HOST } from "./demo/ports.ts";
import { statusExcerpt } from "./demo/status-excerpt.ts";
import { demoConfig, type LogEvent, memberUri, ViplessChild } from "./demo/vipless-child.ts";

const RATE = 5; // calls per second
const HOLD_MS = 1000; // talk time of each call, between ACK and BYE
const KILL_AFTER_MS = 6000; // from the first call to the kill
const CALLS_FOR_MS = 16000; // from the first call to the last one placed
const CALL_TIMEOUT_MS = 8000; // an INVITE or BYE unanswered this long failed

const USAGE = `usage: bun scripts/demo.ts [--transport udp|tcp] [--runtime bun|deno] [--verbose]
       deno run -A --unstable-net scripts/demo.ts [same options]

Starts two demo SIP servers (primary, backup), vipless in front of them, places
${RATE} calls per second through vipless, kills the primary after 6 s and shows the
calls carrying on through the backup. About 20 seconds.

  --transport udp|tcp   SIP transport of the calls and the pair (default udp)
  --runtime bun|deno    runtime vipless runs under (default: the one running this)
  --verbose             also print every SIP message of the calls and every vipless log line`;

const underDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        transport: { type: "string", default: "udp" },
        runtime: { type: "string", default: underDeno ? "deno" : "bun" },
        verbose: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`demo: ${(e as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const transport = values.transport;
  const runtime = values.runtime;
  if (transport !== "udp" && transport !== "tcp") {
    console.error(`demo: --transport must be udp or tcp, got ${transport}`);
    process.exit(2);
  }
  if (runtime !== "bun" && runtime !== "deno") {
    console.error(`demo: --runtime must be bun or deno, got ${runtime}`);
    process.exit(2);
  }
  return { transport, runtime, verbose: values.verbose } as const;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Everything the demo started, so that any way out closes all of it. */
class Resources {
  servers: FakeSipServer[] = [];
  ua: TestUa | undefined;
  load: CallLoad | undefined;
  vipless: ViplessChild | undefined;
  dir: string | undefined;
  timers: Array<ReturnType<typeof setInterval>> = [];

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.load?.stop(0);
    this.ua?.stop();
    for (const s of this.servers) s.stop();
    await this.vipless?.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Switchover reasons (src/ha/types.ts SwitchReason) in plain words. */
const REASONS: Record<string, string> = {
  "probe-timeout": "probe-timeout: the primary stopped answering OPTIONS probes",
  "forward-failure":
    "forward-failure: a request to it failed (no answer in time, or a transport error)\n" +
    "        and the probe sent at once missed too",
  "traffic-from-backup": "traffic-from-backup: the backup sent requests, proof it took over",
  "manual": "manual: an operator asked for it over HTTP",
  "recovery": "recovery: a member answered again",
};

/** Names a call outcome's server the way the narration does. */
const who = (name: string | null) => name ?? "unknown server";

async function main(): Promise<number> {
  const opts = parseOptions();
  const n = new Narrator();
  const res = new Resources();
  const rt = await detectRuntime();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    n.say("interrupted: stopping the calls, vipless and the demo servers");
    res.close().finally(() => process.exit(130));
  };
  rt.onSignal("SIGINT", onSignal);
  rt.onSignal("SIGTERM", onSignal);

  try {
    return await run(opts, n, res);
  } catch (e) {
    n.say(n.red(`the demo could not run: ${(e as Error).message}`));
    const out = res.vipless?.output().trim();
    if (out) n.plain(n.dim(`vipless output:\n${out.split("\n").slice(-20).join("\n")}`));
    return 1;
  } finally {
    await res.close();
  }
}

async function run(
  opts: ReturnType<typeof parseOptions>,
  n: Narrator,
  res: Resources,
): Promise<number> {
  const { transport, runtime, verbose } = opts;
  n.plain(n.bold("vipless demo: a SIP server pair behind vipless loses its primary mid-traffic"));
  n.plain();

  // --- the pair and vipless ---------------------------------------------------------
  const ports: DemoPorts = await choosePorts();
  const primary = await FakeSipServer.start({ transport, port: ports.primary, name: "primary" });
  res.servers.push(primary);
  const backup = await FakeSipServer.start({ transport, port: ports.backup, name: "backup" });
  res.servers.push(backup);
  const pAddr = `${HOST}:${ports.primary}`;
  const bAddr = `${HOST}:${ports.backup}`;
  n.plain(`  primary  demo SIP server    ${transport}://${pAddr}`);
  n.plain(`  backup   demo SIP server    ${transport}://${bAddr}`);
  n.plain(
    `  vipless  SIP proxy          ${transport}://${HOST}:${ports.sip}` +
      `   http://${HOST}:${ports.http}   (${runtime}, from source)`,
  );
  n.plain(
    `  caller   ${RATE} calls/s to vipless, each INVITE -> 200 -> ACK -> ${
      HOLD_MS / 1000
    } s -> BYE`,
  );
  n.plain();

  res.dir = mkdtempSync(join(tmpdir(), "vipless-demo-"));
  const vipless = ViplessChild.start(res.dir, demoConfig(ports, transport), runtime);
  res.vipless = vipless;
  if (verbose) {
    vipless.onEvent((e) => n.say(n.dim(`vipless log: ${e.level} ${e.message}`)));
  }
  const http = `http://${HOST}:${ports.http}`;
  await vipless.waitForEvent(
    (e) => e.event === "listener-opened" && e.transport === "http",
    20000,
    "vipless to open its HTTP listener",
  );
  // Both members answer a probe before the first call, so the story starts from a
  // healthy pair (at start vipless assumes the primary is active until probes say more).
  for (const role of ["primary", "backup"]) {
    await vipless.waitForEvent(
      (e) => e.event === "member-up" && e.role === role,
      10000,
      `vipless to see the ${role} answer its probes`,
    );
  }
  const before = await (await fetch(`${http}/status`)).json();
  const activeRole = before?.pairs?.[0]?.activeRole ?? "no member";
  n.say(
    `vipless is up: both servers answer its OPTIONS probes; the ${n.bold(activeRole)} is active`,
  );

  // --- calls --------------------------------------------------------------------------
  const ua = await TestUa.start({ transport, name: "caller" });
  res.ua = ua;
  if (verbose) traceSip(ua, n);
  let window: CallOutcome[] = [];
  const load = new CallLoad({
    ua,
    proxy: { host: HOST, port: ports.sip },
    callee: `sip:bob@${HOST}:${ports.sip}`,
    ratePerSecond: RATE,
    holdMs: HOLD_MS,
    timeoutMs: CALL_TIMEOUT_MS,
    onAnswered: (c) => window.push(c),
    onEnded: (c) => {
      if (c.failure) n.say(n.red(`call #${c.id} FAILED: ${c.failure}`));
    },
  });
  res.load = load;

  // One line a second: how many calls were answered, by whom, and how fast.
  const report = () => {
    const batch = window;
    window = [];
    if (batch.length === 0) return;
    const ok = batch.filter((c) => c.status === 200);
    const by = new Map<string, number>();
    for (const c of ok) by.set(who(c.answeredBy), (by.get(who(c.answeredBy)) ?? 0) + 1);
    const servers = [...by].map(([s, k]) => `${k} by the ${s}`).join(", ");
    const slowest = Math.max(...batch.map((c) => c.answeredAt - c.startedAt));
    const retried = ok.filter((c) =>
      c.answeredBy === "backup" && c.answeredAt - c.startedAt >= 400
    );
    const bad = batch.length - ok.length;
    let line = `${ok.length} calls answered${servers ? ` (${servers})` : ""}`;
    line += bad > 0 ? n.red(`, ${bad} not answered`) : "";
    line += n.dim(`   slowest setup ${slowest} ms`);
    if (retried.length === 1) {
      line += "\n1 of them first went to the silent primary; vipless retried it on the backup";
    } else if (retried.length > 1) {
      line += `\n${retried.length} of them first went to the silent primary; ` +
        "vipless retried them on the backup";
    }
    n.say(bad > 0 ? line : n.green(line));
  };

  // --- what vipless says about the failover ------------------------------------------
  let killedAt = 0;
  const primaryUri = memberUri(ports.primary, transport);
  let forwardFailures = 0;
  vipless.onEvent((e: LogEvent) => {
    if (killedAt === 0 || verbose) return;
    const at = Date.parse(String(e.at ?? e["@timestamp"]));
    if (e.event === "forward-failure") {
      if (++forwardFailures === 1) {
        n.say(n.yellow(`vipless: a request to the primary failed (${e.why}); it tries the backup`));
      }
    } else if (e.event === "member-down") {
      n.say(n.yellow(`vipless: ${e.role} ${e.member} is down (${e.cause})`), at);
    } else if (e.event === "switchover") {
      const role = (uri: unknown) => uri === primaryUri ? "primary" : "backup";
      n.say(
        n.bold(`vipless: SWITCHOVER of pair ${e.pair}`) +
          `\n  from  ${e.from} (${role(e.from)})` +
          `\n  to    ${e.to} (${role(e.to)})` +
          `\n  why   ${REASONS[String(e.reason)] ?? e.reason}` +
          `\n  detected ${((at - killedAt) / 1000).toFixed(2)} s after the kill`,
        at,
      );
    } else if (e.event === "pair-out-of-service") {
      n.say(n.red(`vipless: pair ${e.pair} is out of service (${e.reason})`), at);
    } else if (e.event === "member-up") {
      n.say(`vipless: ${e.role} ${e.member} is up`, at);
    }
  });

  const callsStart = Date.now();
  load.start();
  res.timers.push(setInterval(report, 1000));

  await sleep(KILL_AFTER_MS);
  report();
  n.say(n.red(n.bold(`killing the primary (${pAddr}): it will answer nothing from now on`)));
  killedAt = Date.now();
  primary.stop();

  await sleep(callsStart + CALLS_FOR_MS - Date.now());
  n.say(`no more new calls; waiting for the ${load.running} calls still up to hang up`);
  await load.stop(CALL_TIMEOUT_MS + HOLD_MS + 1000);
  for (const t of res.timers.splice(0)) clearInterval(t);
  report();

  // --- what an operator sees --------------------------------------------------------
  const body = await (await fetch(`${http}/status`)).json();
  const when = (iso: string) => n.stamp(Date.parse(iso));
  n.say(`curl ${http}/status   (excerpt)\n` + statusExcerpt(body, when).join("\n"));

  // --- the tally --------------------------------------------------------------------
  const all = load.outcomes;
  const failed = all.filter((c) => c.failure !== null);
  const onPrimary = all.filter((c) => c.answeredBy === "primary").length;
  const onBackup = all.filter((c) => c.answeredBy === "backup").length;
  const movedBye = all.filter((c) => c.answeredBy === "primary" && c.byeAnsweredBy === "backup")
    .length;
  n.plain();
  const tally = `${all.length} calls, ${failed.length} failed`;
  n.plain(failed.length === 0 ? n.green(n.bold(tally)) : n.red(n.bold(tally)));
  n.plain(`  ${onPrimary} answered by the primary, ${onBackup} by the backup`);
  if (movedBye > 0) {
    n.plain(`  ${movedBye} calls up on the primary when it died were hung up through the backup`);
  }
  if (failed.length === 0) {
    n.plain("  The callers never knew: no virtual IP, no DNS change, no re-registration.");
  }
  return failed.length === 0 ? 0 : 1;
}

/** --verbose: prints every SIP message the caller sends and receives, in full, in order. */
function traceSip(ua: TestUa, n: Narrator): void {
  const print = (dir: string, text: string) => n.say(n.dim(`${dir}\n${text.trimEnd()}`));
  const send = ua.send.bind(ua);
  ua.send = (data, to) => {
    print("caller ->", typeof data === "string" ? data : new TextDecoder().decode(data));
    return send(data, to);
  };
  // A waiter that never matches sees every message as it arrives (until the demo ends).
  ua.waitFor((r) => {
    print("caller <-", r.msg.raw);
    return false;
  }, 60_000).catch(() => {});
}

process.exit(await main());
