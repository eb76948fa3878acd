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

// Interoperability with SIPp (Debian sip-tester): run when sipp is installed.
let ip = 0, iff = 0;
const hasSipp = spawnSync("sh", ["-c", "command -v ${SIPP:-sipp}"]).status === 0;
if (only.length > 0 || process.env.VIPLESS_SKIP_INTEROP) {
  console.log("\n== interop: not run (test paths given or VIPLESS_SKIP_INTEROP set)");
} else if (!hasSipp) {
  console.log(
    "\n== interop: SKIPPED: sipp is not installed (apt-get install sip-tester); `npm run test:interop` runs it",
  );
} else {
  for (const runtime of ["bun", "deno"]) {
    const args = ["scripts/interop.ts", "--runtime", runtime, "--calls", "200", "--rate", "100"];
    console.log(`\n== interop through vipless on ${runtime}: bun ${args.join(" ")}`);
    const r = spawnSync(bin("bun"), args, { encoding: "utf8", env: process.env });
    process.stdout.write(r.stdout ?? "");
    process.stderr.write(r.stderr ?? "");
    const m = /^(\d+) passed, (\d+) failed/m.exec(r.stdout ?? "");
    if (m) {
      ip += Number(m[1]);
      iff += Number(m[2]);
    }
    if (!m || r.status !== 0) iff += m ? 0 : 1;
  }
}

const passed = bp + dp + ip, failed = bf + df + iff + failedSteps, skipped = bs + ds;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 ? 0 : 1);
