import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCodeSet, tryParseCodeSet } from "../../src/ha/code-set.ts";

describe("probe up_codes", () => {
  it("the default set accepts any answer except 408 and 5xx", () => {
    const codes = parseCodeSet("100-407,409-499,600-699");
    for (const up of [100, 180, 200, 302, 401, 404, 407, 409, 486, 499, 600, 603, 699]) {
      assert.equal(codes.has(up), true, `${up} should count as up`);
    }
    for (const down of [408, 500, 503, 599, 99, 700]) {
      assert.equal(codes.has(down), false, `${down} should count as a miss`);
    }
  });

  it("accepts single codes, spaces, and any order, and normalises the text", () => {
    const codes = parseCodeSet(" 404 , 200-299 ");
    assert.equal(codes.has(404), true);
    assert.equal(codes.has(250), true);
    assert.equal(codes.has(403), false);
    assert.equal(codes.text, "200-299,404");
  });

  it("rejects malformed lists with a reason", () => {
    for (const bad of ["", "abc", "99", "700", "500-400", "200-300-400", "200,,300", "2000"]) {
      const result = tryParseCodeSet(bad);
      assert.equal(result.ok, false, `"${bad}" should be rejected`);
      if (!result.ok) assert.ok(result.error.length > 0);
    }
    assert.throws(() => parseCodeSet("500-400"), /probe\.up_codes: .*backwards/);
  });
});
