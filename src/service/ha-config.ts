/**
 * The HA core's slice of the configuration. The config module parsed and normalised
 * `probe.up_codes` already; the HA core takes the ranges, so it never parses text and
 * cannot disagree with check-config about what is valid.
 */
import { type Config, upCodeRanges } from "../config/index.ts";
import type { HaConfig } from "../ha/index.ts";

export function haConfigOf(config: Config): HaConfig {
  return {
    probe: { ...config.probe, up_codes: upCodeRanges(config.probe.up_codes) },
    pairs: config.pairs,
  };
}
