/**
 * `npm run package`: dist/vipless-VERSION-linux-x64.tar.gz, what an operator copies to
 * a host: the single executable (built first by `npm run build`), an example
 * configuration, the systemd unit, the README, the docs and the LICENSE, under one
 * top directory `vipless-VERSION-linux-x64/`. Runs under Bun or Deno (node: APIs only).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { arch, platform } from "node:os";
import { VERSION } from "../src/version.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const name = `vipless-${VERSION}-${platform()}-${arch()}`;
const stage = join(ROOT, "dist", "package", name);
const archive = join(ROOT, "dist", `${name}.tar.gz`);

if (platform() !== "linux" || arch() !== "x64") {
  console.error(`note: packaging on ${platform()}-${arch()}: the binary is for this host`);
}
if (!existsSync(join(ROOT, "dist", "vipless"))) {
  console.error("dist/vipless is missing: run `npm run build` first (npm run package does)");
  process.exit(1);
}

/** [source in the repository, name in the package] */
const files: Array<[string, string]> = [
  ["dist/vipless", "vipless"],
  ["config/examples/single-site.yaml", "vipless.yaml"],
  ["config/examples/multi-site.yaml", "examples/multi-site.yaml"],
  ["deploy/vipless.service", "vipless.service"],
  ["README.md", "README.md"],
  ["LICENSE", "LICENSE"],
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md") || f.endsWith(".png"))
    .map((f): [string, string] => [`docs/${f}`, `docs/${f}`]),
  ...["prometheus", "grafana"].flatMap((d) =>
    existsSync(join(ROOT, "deploy", d))
      ? readdirSync(join(ROOT, "deploy", d)).map((f): [string, string] => [
        `deploy/${d}/${f}`,
        `${d}/${f}`,
      ])
      : []
  ),
];

rmSync(join(ROOT, "dist", "package"), { recursive: true, force: true });
for (const [from, to] of files) {
  const src = join(ROOT, from);
  if (!existsSync(src)) {
    console.error(`missing: ${from}`);
    process.exit(1);
  }
  if (!statSync(src).isFile()) continue;
  mkdirSync(join(stage, to, ".."), { recursive: true });
  copyFileSync(src, join(stage, to));
}

// --owner/--group: the archive does not carry the builder's user; sorted for a stable listing.
const tar = spawnSync("tar", [
  "--sort=name",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "-czf",
  archive,
  "-C",
  join(ROOT, "dist", "package"),
  name,
], { stdio: "inherit" });
if (tar.status !== 0) {
  console.error("tar failed");
  process.exit(1);
}
rmSync(join(ROOT, "dist", "package"), { recursive: true, force: true });
const mib = (statSync(archive).size / 1024 / 1024).toFixed(1);
console.log(`dist/${name}.tar.gz  ${mib} MiB  (${files.length} files)`);
