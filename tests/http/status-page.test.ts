import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from "../../src/http/status-page.ts";

describe("the status page document", () => {
  it("is self-contained: no external asset, and its CSP would block one", () => {
    const urls = STATUS_PAGE_HTML.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
    assert.deepEqual(urls.filter((u) => u !== "http://www.w3.org/2000/svg"), []);
    assert.doesNotMatch(STATUS_PAGE_HTML, /<(script|link|img)\b[^>]*\b(src|href)=/i);
    assert.match(STATUS_PAGE_CSP, /default-src 'none'/);
    assert.match(STATUS_PAGE_CSP, /connect-src 'self'/);
  });

  it("its script is valid JavaScript and fetches relative URLs only", () => {
    const script = STATUS_PAGE_HTML.split("<script>")[1]!.split("</script>")[0]!;
    assert.doesNotThrow(() => new Function(script));
    assert.deepEqual(
      [...script.matchAll(/fetch\("([^"]+)"/g)].map((m) => m[1]),
      ["status", "metrics"],
    );
  });
});
