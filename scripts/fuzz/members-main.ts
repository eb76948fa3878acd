/**
 * The two pair members of a fuzz session in a process of their own, so that the
 * fuzzer's load (mutating and sending thousands of messages a second, garbage
 * collection included) never delays their answers or overflows their sockets.
 *
 *   bun scripts/fuzz/members-main.ts '{"proxyPort":5060,"rfc4475Dir":"…","seed":1,"share":0.2}'
 *
 * Prints one JSON line with the members' ports, then answers each "stats" line on
 * stdin with a JSON line of their MemberStats; exits when stdin closes.
 */
import process from "node:process";
import { detectRuntime } from "../../src/runtime/index.ts";
import { seededRandom } from "../../tests/support/random.ts";
import { loadCorpus } from "./corpus.ts";
import { type AnswerMutation, Member } from "./member.ts";

interface Args {
  proxyPort: number;
  rfc4475Dir: string;
  /** Mutated answers: the seed of the members' generators, and the share mutated (0 = none). */
  seed: number;
  share: number;
}

const a = JSON.parse(process.argv[2] ?? "{}") as Args;
const rt = await detectRuntime();
const corpus = loadCorpus({
  proxy: { host: "127.0.0.1", port: a.proxyPort },
  rfc4475Dir: a.rfc4475Dir,
});
const mutation = (k: number): AnswerMutation | undefined =>
  a.share > 0
    // Each member its own stream, apart from the fuzzer's (seed + 1, seed + 2).
    ? { rng: seededRandom(a.seed + k), corpus, share: a.share }
    : undefined;
const members = [
  await Member.start(rt, "primary", mutation(1)),
  await Member.start(rt, "backup", mutation(2)),
];
process.stdout.write(JSON.stringify({ ports: members.map((m) => m.port) }) + "\n");

let pending = "";
process.stdin.on("data", (chunk: Uint8Array | string) => {
  pending += chunk.toString();
  let nl: number;
  while ((nl = pending.indexOf("\n")) >= 0) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    if (line === "stats") {
      for (const m of members) m.readKernelDrops();
      process.stdout.write(JSON.stringify(members.map((m) => m.stats)) + "\n");
    }
  }
});
process.stdin.on("end", () => {
  for (const m of members) m.close();
  process.exit(0);
});
