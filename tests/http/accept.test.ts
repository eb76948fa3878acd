import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { prefersHtml } from "../../src/http/accept.ts";

describe("prefersHtml: who gets the status page at /", () => {
  it("browsers get HTML", () => {
    assert.equal(
      prefersHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
      true,
    );
    assert.equal(prefersHtml("text/*"), true);
  });

  it("curl, scripts and JSON clients get JSON; a tie goes to JSON", () => {
    assert.equal(prefersHtml(undefined), false);
    assert.equal(prefersHtml("*/*"), false);
    assert.equal(prefersHtml("application/json"), false);
    assert.equal(prefersHtml("text/html;q=0.5, application/json"), false);
    assert.equal(prefersHtml("text/html, application/json"), false);
    assert.equal(prefersHtml("text/html;q=0, */*"), false);
  });
});
