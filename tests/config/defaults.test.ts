import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MINIMAL, parseOk, yaml } from "./helpers.ts";

// The validated shape other modules code against (copied from the issue). Assigning the
// parsed config to it makes `deno check` fail if the schema's output type drifts.
type Transport = "udp" | "tcp" | "tls";
interface ListenSpec {
  uri: string;
  transport: Transport;
  host: string;
  port: number;
}
interface MemberSpec {
  uri: string;
  scheme: "sip" | "sips";
  host: string;
  port: number;
  transport: Transport;
  portGiven: boolean;
  transportGiven: boolean;
}
interface PairSpec {
  name: string;
  primary: MemberSpec;
  backup: MemberSpec;
}
interface ContractConfig {
  listen: ListenSpec[];
  advertise: { host: string; port: number | null };
  serve: string;
  http: { listen: { host: string; port: number }; token_env: string | null };
  probe: {
    interval: number;
    force_interval: number;
    timeout: number;
    failures: number;
    rise: number;
    up_codes: string;
  };
  failover: { timeout: number };
  drain: { timeout: number };
  sip: {
    t1: number;
    max_transactions: number;
    max_message_bytes: number;
    user_agent: string;
    udp_buffer_bytes: number | "auto";
  };
  overload: { max_invite_rate: number; max_delay: number };
  tcp: {
    max_connections: number;
    max_connections_per_source: number;
    message_timeout: number;
    idle_timeout: number;
    max_header_bytes: number;
  };
  protect: { max_requests_per_source: number; block_time: number };
  dns: { servers: Array<{ host: string; port: number }> | null };
  tls: {
    cert: string | null;
    key: string | null;
    ca: string | null;
    verify_members: boolean;
    client_cert: boolean;
  };
  workers: number;
  pairs: PairSpec[];
  log: {
    level: "trace" | "debug" | "info" | "warning" | "error" | "fatal";
    format: "json" | "text";
  };
}

describe("defaults", () => {
  it("fills every optional key of a minimal config", () => {
    const config: ContractConfig = parseOk(yaml(...MINIMAL));
    const expected: ContractConfig = {
      listen: [
        { uri: "udp://0.0.0.0:5060", transport: "udp", host: "0.0.0.0", port: 5060 },
        { uri: "tcp://0.0.0.0:5060", transport: "tcp", host: "0.0.0.0", port: 5060 },
      ],
      advertise: { host: "proxy.example.com", port: null },
      serve: "site-a",
      http: { listen: { host: "127.0.0.1", port: 8080 }, token_env: "VIPLESS_ADMIN_TOKEN" },
      probe: {
        interval: 1000,
        force_interval: 500,
        timeout: 500,
        failures: 2,
        rise: 2,
        up_codes: "100-407,409-499,600-699",
      },
      failover: { timeout: 1000 },
      drain: { timeout: 5000 },
      sip: {
        t1: 500,
        max_transactions: 500000,
        max_message_bytes: 65535,
        user_agent: "vipless",
        udp_buffer_bytes: "auto",
      },
      overload: { max_invite_rate: 0, max_delay: 100 },
      tcp: {
        max_connections: 4096,
        max_connections_per_source: 256,
        message_timeout: 10_000,
        idle_timeout: 300_000,
        max_header_bytes: 16384,
      },
      protect: { max_requests_per_source: 0, block_time: 60_000 },
      dns: { servers: null },
      tls: { cert: null, key: null, ca: null, verify_members: true, client_cert: false },
      workers: 1,
      pairs: [{
        name: "site-a",
        primary: {
          uri: "sip:10.0.0.11:5060",
          scheme: "sip",
          host: "10.0.0.11",
          port: 5060,
          transport: "udp",
          portGiven: true,
          transportGiven: false,
        },
        backup: {
          uri: "sip:10.0.0.12:5060",
          scheme: "sip",
          host: "10.0.0.12",
          port: 5060,
          transport: "udp",
          portGiven: true,
          transportGiven: false,
        },
      }],
      log: { level: "info", format: "json" },
    };
    assert.deepEqual(config, expected);
  });

  it("keeps defaults for the keys a partly written section leaves out", () => {
    const config = parseOk(yaml(...MINIMAL, "probe:", "  interval: 2s", "sip: { t1: 1s }"));
    assert.deepEqual(config.probe, {
      interval: 2000,
      force_interval: 500,
      timeout: 500,
      failures: 2,
      rise: 2,
      up_codes: "100-407,409-499,600-699",
    });
    assert.equal(config.sip.t1, 1000);
    assert.equal(config.sip.max_transactions, 500000);
  });

  it("treats a section with every key commented out as all defaults", () => {
    const config = parseOk(yaml(...MINIMAL, "probe:", "  # interval: 2s", "log:"));
    assert.equal(config.probe.interval, 1000);
    assert.equal(config.log.level, "info");
  });

  it("turns durations into milliseconds", () => {
    const config = parseOk(
      yaml(...MINIMAL, "probe: { interval: 1.5s, timeout: 250ms }", "failover: { timeout: 2m }"),
    );
    assert.equal(config.probe.interval, 1500);
    assert.equal(config.probe.timeout, 250);
    assert.equal(config.failover.timeout, 120000);
  });

  it("accepts token_env: null to turn the admin API off", () => {
    const config = parseOk(yaml(...MINIMAL, "http: { token_env: null }"));
    assert.equal(config.http.token_env, null);
  });
});
