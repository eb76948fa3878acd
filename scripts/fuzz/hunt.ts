#!/usr/bin/env bun
/**
 * Finds the one message of a fuzz run that leaves a TCP connection open in vipless or
 * makes it exit, for a minimal reproduction:
 *
 *   bun scripts/fuzz/hunt.ts --seed S --count N [--tcp-share F] [--t1 50ms]
 *                            [--binary PATH] [--chunk 250] [--answer-share F]
 *
 * It regenerates the run's messages from the seed (send.ts `messages`), sends them in
 * chunks to a fresh vipless until a chunk leaves vipless_tcp_connections above the
 * baseline (with every connection of its own closed) or vipless exits, then sends that
 * chunk's messages one by one to another fresh vipless, and finally the culprit alone
 * to a third, to confirm. Prints the message as JSON (its exact bytes).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { detectRuntime, type Runtime } from "../../src/runtime/index.ts";
import { byteStringToBytes } from "../../src/sip/text.ts";
import { ROOT } from "../../tests/support/vipless-process.ts";
import { seededRandom } from "../../tests/support/random.ts";
import { loadCorpus } from "./corpus.ts";
import type { Mutated } from "./mutate.ts";
import { snapshot } from "./observe.ts";
import { messages } from "./send.ts";
import { baseline, sleep, startTarget, type Target } from "./target.ts";

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seed: { type: "string" },
    count: { type: "string", default: "10000" },
    "tcp-share": { type: "string", default: "0.3" },
    t1: { type: "string", default: "50ms" },
    binary: { type: "string", default: join(ROOT, "dist/vipless") },
    chunk: { type: "string", default: "250" },
    "answer-share": { type: "string", default: "0" },
  },
});
const seed = Number(opts.seed);
const count = Number(opts.count);
const chunk = Number(opts.chunk);
if (!Number.isInteger(seed) || !Number.isInteger(count) || !Number.isInteger(chunk)) {
  console.error("hunt: --seed, --count and --chunk are whole numbers");
  process.exit(2);
}

type Message = { m: Mutated; overTcp: boolean };
const RFC4475 = join(ROOT, "..", "shared", "testdata", "rfc4475");

/** The run's first `count` messages, for vipless at `port` (the seeds name its address). */
function generate(port: number): Message[] {
  const next = messages({
    corpus: loadCorpus({
      proxy: { host: "127.0.0.1", port },
      rfc4475Dir: RFC4475,
    }),
    rng: seededRandom(seed),
    tcpShare: Number(opts["tcp-share"]),
    maxUdpBytes: 65_000,
    maxTcpBytes: 100_000,
  });
  return Array.from({ length: count }, next);
}

async function fresh(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), "vipless-hunt-"));
  return await startTarget({
    command: [opts.binary!, []],
    t1: opts.t1!,
    dir,
    mutateAnswers: { seed, share: Number(opts["answer-share"]), rfc4475Dir: RFC4475 },
  });
}

/** Sends each message; a TCP one on a connection of its own, closed 20 ms later. */
async function send(rt: Runtime, t: Target, list: Message[]): Promise<void> {
  const udp = await rt.bindUdp({ host: "127.0.0.1", port: 0 }, { onMessage() {} });
  const to = { host: "127.0.0.1", port: t.sipPort };
  try {
    for (const { m, overTcp } of list) {
      const bytes = byteStringToBytes(m.text);
      if (!overTcp) {
        udp.send(bytes, to);
        continue;
      }
      try {
        const c = await rt.connectTcp(to, { onData() {} });
        c.write(bytes);
        await sleep(20);
        c.close();
      } catch {
        // refused: vipless's limits; not what is hunted
      }
    }
  } finally {
    udp.close();
  }
}

/** What is wrong after a send: vipless exited, or holds TCP connections it should not. */
async function wrong(t: Target, baseTcp: number): Promise<string | null> {
  await sleep(500);
  if (t.crashed()) return t.crashed();
  const s = await snapshot(t.httpPort, t.pid);
  if (!s) return "/metrics does not answer";
  return s.tcpConnections > baseTcp ? `${s.tcpConnections} TCP connections open` : null;
}

async function main(): Promise<number> {
  const rt = await detectRuntime();
  let t = await fresh();
  let list = generate(t.sipPort);
  let base = (await baseline(t, 2)).tcpConnections;
  let from = -1;
  for (let i = 0; i < list.length && from < 0; i += chunk) {
    await send(rt, t, list.slice(i, i + chunk));
    const why = await wrong(t, base);
    if (why) {
      console.log(`hunt: messages ${i}..${i + chunk - 1}: ${why}`);
      from = i;
    }
  }
  await t.stop();
  if (from < 0) {
    console.log(`hunt: nothing found in ${count} messages of seed ${seed}`);
    return 0;
  }
  t = await fresh();
  list = generate(t.sipPort);
  base = (await baseline(t, 2)).tcpConnections;
  let culprit = -1;
  for (let i = from; i < Math.min(from + chunk, list.length) && culprit < 0; i++) {
    await send(rt, t, [list[i]]);
    if (await wrong(t, base)) culprit = i;
  }
  await t.stop();
  if (culprit < 0) {
    console.log("hunt: no single message of the chunk does it alone (an interaction)");
    return 1;
  }
  t = await fresh();
  const alone = generate(t.sipPort)[culprit];
  base = (await baseline(t, 2)).tcpConnections;
  await send(rt, t, [alone]);
  const why = await wrong(t, base);
  await t.stop();
  console.log(`hunt: message ${culprit} (${alone.overTcp ? "TCP" : "UDP"}, ${alone.m.label})`);
  console.log(
    `hunt: sent alone to a fresh vipless: ${why ?? "nothing wrong (needs what came before)"}`,
  );
  console.log(JSON.stringify(alone.m.text));
  return 0;
}

process.exit(await main());
