import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";

describe("Prometheus registry", () => {
  it("renders counters, gauges and histograms in the text format", () => {
    const r = new Registry();
    const c = r.counter("x_total", "Things.");
    c.inc({ method: "INVITE" });
    c.inc({ method: "INVITE" });
    c.inc({ method: 'we"ird' }, 3);
    r.gauge("g", "A gauge.", () => [[{ pair: "a" }, 1], [{ pair: "b" }, 0]]);
    const h = r.histogram("rtt_seconds", "RTT.", [0.01, 0.1]);
    h.observe(0.005, { pair: "a" });
    h.observe(0.05, { pair: "a" });
    h.observe(5, { pair: "a" });
    const text = r.render();
    assert.match(text, /^# HELP x_total Things\.\n# TYPE x_total counter\n/);
    assert.match(text, /\nx_total\{method="INVITE"\} 2\n/);
    assert.match(text, /\nx_total\{method="we\\"ird"\} 3\n/);
    assert.match(text, /\ng\{pair="a"\} 1\ng\{pair="b"\} 0\n/);
    assert.match(text, /\nrtt_seconds_bucket\{pair="a",le="0.01"\} 1\n/);
    assert.match(text, /\nrtt_seconds_bucket\{pair="a",le="0.1"\} 2\n/);
    assert.match(text, /\nrtt_seconds_bucket\{pair="a",le="\+Inf"\} 3\n/);
    assert.match(text, /\nrtt_seconds_count\{pair="a"\} 3\n/);
    assert.equal(c.get({ method: "INVITE" }), 2);
  });

  it("escapes backslash, newline and quote in label values, and keeps several labels in order", () => {
    const r = new Registry();
    const c = r.counter("y_total", "Y.");
    c.inc({ a: "back\\slash", b: "new\nline", c: 'q"uote', d: "plain" });
    c.inc({ a: "x", b: "y" }, 0);
    const text = r.render();
    assert.ok(
      text.includes('y_total{a="back\\\\slash",b="new\\nline",c="q\\"uote",d="plain"} 1\n'),
      text,
    );
    assert.ok(text.includes('y_total{a="x",b="y"} 0\n'), "a series can start at 0");
  });
});
