import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configSchema, parseConfig } from "../../src/config/index.ts";

const reference = readFileSync(
  fileURLToPath(new URL("../../docs/configuration.md", import.meta.url).href),
  "utf8",
);

describe("docs/configuration.md", () => {
  it("its YAML example is a valid config", () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(reference);
    assert.ok(block !== null, "the reference has a yaml example");
    const result = parseConfig(block[1], "docs/configuration.md");
    assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
    assert.equal(result.config.pairs.length, 2);
  });

  it("documents every top-level key of the schema", () => {
    const missing = Object.keys(configSchema.in.shape).filter((key) =>
      !reference.includes(`### \`${key}\``)
    );
    assert.deepEqual(missing, []);
  });
});
