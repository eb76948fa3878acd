// probe.up_codes: the config module is the one parser; what check-config accepts, the
// HA core (built from the config as the service builds it) accepts too.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  describeConfig,
  parseConfig,
  parseStatusRanges,
  parseUpCodes,
  statusMatcher,
  upCodeRanges,
} from "../../src/config/index.ts";
import { PairRegistry } from "../../src/ha/pair-registry.ts";
import { probeSettings } from "../../src/ha/probe-settings.ts";
import { haConfigOf } from "../../src/service/ha-config.ts";
import { expectError, FILE, MINIMAL, parseErrors, parseOk, yaml } from "./helpers.ts";

const reference = readFileSync(
  fileURLToPath(new URL("../../docs/configuration.md", import.meta.url).href),
  "utf8",
);

/** Every `up_codes: …` example written in docs/configuration.md. */
const DOC_EXAMPLES = [...reference.matchAll(/`up_codes: ([^`]+)`/g)].map((m) => m[1]);

const withUpCodes = (value: string) => yaml(...MINIMAL, "probe:", `  up_codes: ${value}`);

describe("probe.up_codes examples in docs/configuration.md", () => {
  it("the reference has examples of both the comma and the YAML list form", () => {
    assert.ok(DOC_EXAMPLES.length >= 4, DOC_EXAMPLES.join(" | "));
    assert.ok(DOC_EXAMPLES.some((e) => e.startsWith("[")), "a YAML list");
    assert.ok(DOC_EXAMPLES.some((e) => e.includes("xx")), "a class");
  });

  for (const example of DOC_EXAMPLES) {
    it(`check-config accepts up_codes: ${example}`, () => {
      const result = parseConfig(withUpCodes(example), FILE);
      assert.ok(result.ok, JSON.stringify(!result.ok && result.error));
      assert.match(describeConfig(result.config, FILE), /: OK — /);
    });

    it(`the HA core starts with up_codes: ${example}, judging codes as the config does`, () => {
      const config = parseOk(withUpCodes(example));
      const ha = haConfigOf(config);
      assert.doesNotThrow(() => new PairRegistry(ha, { now: 0 }));
      const configSays = statusMatcher(config.probe.up_codes);
      const haSays = probeSettings(ha.probe).isUp;
      for (let code = 100; code <= 699; code++) {
        assert.equal(haSays(code), configSays(code), `status ${code}`);
      }
    });
  }
});

describe("probe.up_codes values", () => {
  it("'2xx, 404' starts the service (it used to pass check-config, then stop the start)", () => {
    const config = parseOk(withUpCodes('"2xx, 404"'));
    assert.equal(config.probe.up_codes, "2xx,404");
    assert.doesNotThrow(() => new PairRegistry(haConfigOf(config), { now: 0 }));
  });

  it("a YAML list of codes and classes becomes the same comma text", () => {
    assert.equal(parseOk(withUpCodes("[200, 404]")).probe.up_codes, "200,404");
    assert.equal(parseOk(withUpCodes('["2xx", 404]')).probe.up_codes, "2xx,404");
    assert.equal(parseOk(withUpCodes("[486, 180-183]")).probe.up_codes, "180-183,486");
    assert.equal(parseOk(withUpCodes("200")).probe.up_codes, "200");
  });

  it("reports a bad list item at the item, and an empty list at the list", () => {
    const at = MINIMAL.length + 2;
    expectError(parseErrors(withUpCodes('[200, "7xx"]')), at, 19, /^probe\.up_codes\[1\]: '7xx'/);
    expectError(parseErrors(withUpCodes("[200, [404]]")), at, 19, /one code, range or class/);
    expectError(parseErrors(withUpCodes("[]")), at, 13, /^probe\.up_codes: needs at least one/);
    expectError(parseErrors(withUpCodes("{ a: 1 }")), at, 13, /^probe\.up_codes: expected a list/);
    expectError(parseErrors(withUpCodes('"2xx; 404"')), at, 13, /'2xx; 404' is not a status/);
  });

  it("the default set accepts any answer except 408 and 5xx", () => {
    const up = statusMatcher("100-407,409-499,600-699");
    for (const code of [100, 180, 200, 302, 401, 404, 407, 409, 486, 499, 600, 603, 699]) {
      assert.equal(up(code), true, `${code} should count as up`);
    }
    for (const code of [408, 500, 503, 599, 99, 700]) {
      assert.equal(up(code), false, `${code} should count as a miss`);
    }
  });

  it("accepts single codes, spaces, and any order, and normalises the text", () => {
    const up = statusMatcher(" 404 , 200-299 ");
    assert.equal(up(404), true);
    assert.equal(up(250), true);
    assert.equal(up(403), false);
    const text = parseUpCodes(" 404 , 200-299 ");
    assert.equal(text.ok && text.value, "200-299,404");
  });

  it("rejects malformed lists with a reason", () => {
    for (const bad of ["", "abc", "99", "700", "500-400", "200-300-400", "200,,300", "2000"]) {
      const result = parseStatusRanges(bad);
      assert.equal(result.ok, false, `"${bad}" should be rejected`);
      if (!result.ok) assert.ok(result.error.length > 0);
    }
    assert.throws(() => upCodeRanges("500-400"), /probe\.up_codes: .*backwards/);
  });

  it("the HA core refuses ranges that no parse of the config could produce", () => {
    const ha = haConfigOf(parseOk(yaml(...MINIMAL)));
    for (const up_codes of [[], [{ from: 500, to: 400 }], [{ from: 99, to: 200 }]]) {
      assert.throws(
        () => new PairRegistry({ ...ha, probe: { ...ha.probe, up_codes } }, { now: 0 }),
        /probe\.up_codes/,
      );
    }
  });
});
