import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfig } from "../../src/config/index.ts";
import { MINIMAL } from "./helpers.ts";

// A reload with a half-edited file must produce errors, never an exception.
function assertWellFormed(text: string): void {
  const result = parseConfig(text, "f.yaml");
  if (result.ok) return;
  assert.ok(result.error.length > 0);
  const lineCount = text.split("\n").length;
  for (const e of result.error) {
    assert.ok(e.line !== null && e.line >= 1 && e.line <= lineCount, `line ${e.line}`);
    assert.ok(e.col !== null && e.col >= 1, `col ${e.col}`);
    assert.ok(e.message.length > 0);
  }
}

describe("parseConfig on arbitrary input", () => {
  it("never throws and places every error inside the file", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), assertWellFormed), { numRuns: 300 });
  });

  it("never throws on a valid config with one line replaced by junk", () => {
    const junk = fc.constantFrom(
      "  - x",
      "probe: [",
      "log: { level: 7 }",
      "    primary: 5",
      "pairs: null",
      "listen: {}",
      "advertise: [::1]",
      "serve: 1",
      ":",
      "- - -",
      "&a *a",
    );
    fc.assert(
      fc.property(fc.nat({ max: MINIMAL.length - 1 }), junk, (index, line) => {
        const lines = [...MINIMAL];
        lines[index] = line;
        assertWellFormed(lines.join("\n") + "\n");
      }),
      { numRuns: 200 },
    );
  });
});
