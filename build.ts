/**
 * `npm run build`: makes
 *   dist/vipless     a single executable for this host (bun build --compile; works offline,
 *                    and ignores any .env or bunfig.toml in the directory it is started from)
 *   dist/vipless.js  one bundled ES module that both `bun` and `deno run` execute
 * and prints both sizes. Run with Bun: `bun build.ts`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";

const bun = process.execPath; // this script runs under Bun: use the same binary to build
mkdirSync("dist", { recursive: true });

function run(args: string[]): void {
  const r = spawnSync(bun, args, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build failed: ${bun} ${args.join(" ")}`);
    process.exit(r.status ?? 1);
  }
}

run([
  "build",
  "src/main.ts",
  "--compile",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  "--outfile",
  "dist/vipless",
]);
// target "node" keeps the bundle free of Bun-only module syntax, so Deno runs it too;
// the runtime adapter is still chosen at start by feature detection.
run([
  "build",
  "src/main.ts",
  "--target=node",
  "--format=esm",
  "--outfile",
  "dist/vipless.js",
]);

const mib = (p: string) => (statSync(p).size / 1024 / 1024).toFixed(1) + " MiB";
console.log(`dist/vipless     ${mib("dist/vipless")}  (single executable, Bun runtime inside)`);
console.log(`dist/vipless.js  ${mib("dist/vipless.js")}  (bundle for deno run / bun)`);
