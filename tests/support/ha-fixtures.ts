/**
 * The pair fixtures the HA core tests and the proxy core tests share: site-a (a UDP
 * pair), site-b (a TCP pair), an HA config with the default probe settings, and the
 * clock's start.
 */
import type { HaConfig, HaMemberSpec, HaPairSpec } from "../../src/ha/types.ts";

export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

export function member(host: string, port = 5060, transport: "udp" | "tcp" = "udp"): HaMemberSpec {
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    uri: `sip:${h}:${port}${transport === "udp" ? "" : `;transport=${transport}`}`,
    scheme: "sip",
    host,
    port,
    transport,
  };
}

export const SITE_A: HaPairSpec = {
  name: "site-a",
  primary: member("10.0.0.11"),
  backup: member("10.0.0.12"),
};

export const SITE_B: HaPairSpec = {
  name: "site-b",
  primary: member("10.1.0.11", 5060, "tcp"),
  backup: member("10.1.0.12", 5060, "tcp"),
};

/** The default probe settings (up_codes parsed), with `overrides`, over `pairs`. */
export function config(overrides: Partial<HaConfig["probe"]> = {}, pairs = [SITE_A]): HaConfig {
  return {
    probe: {
      interval: 1000,
      force_interval: 500,
      timeout: 500,
      failures: 2,
      rise: 2,
      up_codes: [{ from: 100, to: 407 }, { from: 409, to: 499 }, { from: 600, to: 699 }],
      ...overrides,
    },
    pairs,
  };
}
