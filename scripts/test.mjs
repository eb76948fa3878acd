#!/usr/bin/env node
// `npm test`: static checks, then the one test suite under Bun and under Deno.
// Ends with a single line "N passed, N failed" summed over both runtimes, counted
// from each runner's JUnit report so that both runtimes are counted the same way.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const bin = (name) => join("node_modules", ".bin", name);
const out = ".test-results";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const only = process.argv.slice(2); // optional test paths, e.g. `npm test -- tests/sip`
const paths = only.length > 0 ? only : ["tests"];

let failedSteps = 0;
function step(title, cmd, args) {
  console.log(`\n== ${title}: ${[cmd, ...args].join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env: process.env });
  if (r.status !== 0) {
    failedSteps++;
    console.log(`== ${title}: FAILED (exit ${r.status ?? r.signal})`);
  }
  return r.status === 0;
}

/** Counts test cases in a JUnit XML file: [passed, failed, skipped]. */
function countJunit(file, runtime) {
  if (!existsSync(file)) return [0, 1, 0];
  const xml = readFileSync(file, "utf8");
  let passed = 0, failed = 0, skipped = 0;
  // Deno reports describe() groups as testcases with nested steps; Bun reports leaves only.
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  for (const c of cases) {
    if (/<failure\b|<error\b/.test(c)) failed++;
    else if (/<skipped\b/.test(c)) skipped++;
    else passed++;
  }
  console.log(`== ${runtime}: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  return [passed, failed, skipped];
}

if (!process.env.VIPLESS_SKIP_CHECKS) {
  step("type check", bin("deno"), ["check", "src", "tests", "scripts", "build.ts"]);
  step("lint", bin("deno"), ["lint"]);
  step("format", bin("deno"), ["fmt", "--check"]);
}
step("tests under Bun", bin("bun"), [
  "test",
  "--timeout=60000",
  "--reporter=junit",
  `--reporter-outfile=${out}/bun.xml`,
  ...paths.map((p) => (p.startsWith(".") || p.startsWith("/") ? p : `./${p}`)),
]);
// Bun's junit reporter replaces its console summary; show failures plainly afterwards.
step("tests under Deno", bin("deno"), [
  "test",
  "-A",
  "--unstable-net",
  "--reporter=dot",
  `--junit-path=${out}/deno.xml`,
  ...paths,
]);

const [bp, bf, bs] = countJunit(`${out}/bun.xml`, "bun");
const [dp, df, ds] = countJunit(`${out}/deno.xml`, "deno");
const passed = bp + dp, failed = bf + df + failedSteps, skipped = bs + ds;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 ? 0 : 1);
