// One set of Deno permission flags for running vipless, the same wherever a command
// line shows it: the README (its home, with the reason for each flag), package.json
// and the deployment guide.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/vipless-process.ts";

const FLAGS = "--allow-net --allow-read --allow-env --allow-sys --allow-ffi --unstable-net";

const sources = [
  "README.md",
  "package.json",
  ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];

describe("Deno permission flags in the docs", () => {
  it("every `deno run` of vipless uses the README's one set", () => {
    let seen = 0;
    for (const file of sources) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (
        const m of text.matchAll(/deno run ((?:--?[a-z-]+ )+)\S*(?:src\/main\.ts|vipless\.js)/g)
      ) {
        seen++;
        assert.equal(m[1]!.trim(), FLAGS, `${file}: ${m[0]}`);
      }
    }
    assert.ok(seen >= 4, `found only ${seen} command lines`);
    assert.ok(readFileSync(join(ROOT, "README.md"), "utf8").includes(`\`${FLAGS}\``));
  });
});
