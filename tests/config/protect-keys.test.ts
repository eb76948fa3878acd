// The keys of the TCP limits, per-source protection and UDP buffers: values, ranges,
// and errors at the offending value's line and column.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { expectError, MINIMAL, parseErrors, parseOk, yaml } from "./helpers.ts";

describe("tcp, protect and sip.udp_buffer_bytes keys", () => {
  it("reads every tcp key, durations in milliseconds", () => {
    const config = parseOk(yaml(
      ...MINIMAL,
      "tcp:",
      "  max_connections: 5",
      "  max_connections_per_source: 0",
      "  message_timeout: 200ms",
      "  idle_timeout: 2m",
      "  max_header_bytes: 4096",
    ));
    assert.deepEqual(config.tcp, {
      max_connections: 5,
      max_connections_per_source: 0,
      message_timeout: 200,
      idle_timeout: 120_000,
      max_header_bytes: 4096,
    });
  });

  it("reads protect keys; a fractional rate is allowed", () => {
    const config = parseOk(
      yaml(...MINIMAL, "protect: { max_requests_per_source: 2.5, block_time: 30s }"),
    );
    assert.deepEqual(config.protect, { max_requests_per_source: 2.5, block_time: 30_000 });
  });

  it("sip.udp_buffer_bytes takes a byte count, 0 or auto", () => {
    assert.equal(
      parseOk(yaml(...MINIMAL, "sip: { udp_buffer_bytes: 65536 }")).sip.udp_buffer_bytes,
      65536,
    );
    assert.equal(parseOk(yaml(...MINIMAL, "sip: { udp_buffer_bytes: 0 }")).sip.udp_buffer_bytes, 0);
    assert.equal(
      parseOk(yaml(...MINIMAL, "sip: { udp_buffer_bytes: auto }")).sip.udp_buffer_bytes,
      "auto",
    );
  });

  it("reports bad values at their line and column", () => {
    const errors = parseErrors(yaml(
      ...MINIMAL,
      "tcp:",
      "  max_connections: 0",
      "  message_timeout: 10",
      "  max_header_bytes: 100",
      "  idle_timeout: forever",
      "protect:",
      "  max_requests_per_source: -1",
      "  block_time: 1",
      "sip:",
      "  udp_buffer_bytes: lots",
    ));
    expectError(errors, 7, 20, /^tcp\.max_connections: must be at least 1$/);
    expectError(errors, 8, 20, /tcp\.message_timeout: durations need a unit/);
    expectError(errors, 9, 21, /^tcp\.max_header_bytes: must be at least 256$/);
    expectError(errors, 10, 17, /^tcp\.idle_timeout: 'forever' is not a duration/);
    expectError(errors, 12, 28, /^protect\.max_requests_per_source: must be at least 0$/);
    expectError(errors, 13, 15, /protect\.block_time: durations need a unit/);
    expectError(
      errors,
      15,
      21,
      /sip\.udp_buffer_bytes: expected a number of bytes \(0-1073741824\) or auto, got 'lots'/,
    );
  });

  it("an unknown key in the new sections is an error with a hint", () => {
    const errors = parseErrors(yaml(...MINIMAL, "tcp:", "  idle_timout: 1s"));
    expectError(errors, 7, 3, /unknown key 'idle_timout' \(did you mean 'idle_timeout'\?\)/);
  });
});
