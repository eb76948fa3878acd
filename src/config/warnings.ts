// Settings that are valid but almost certainly not what the operator wants.
import { formatDuration } from "./duration.ts";
import type { Config } from "./schema.ts";

/** Warning messages, each starting with the key it concerns. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  // Timer B/F end a client transaction after 64*T1; failover must come first to help.
  const transactionTimeout = 64 * config.sip.t1;
  if (config.failover.timeout >= transactionTimeout) {
    warnings.push(
      `failover.timeout (${formatDuration(config.failover.timeout)}) is not shorter ` +
        `than the SIP transaction timeout 64*T1 (${formatDuration(transactionTimeout)}), ` +
        `so a request to a silent member fails before vipless tries the other member`,
    );
  }
  if (config.probe.force_interval > config.probe.interval) {
    warnings.push(
      `probe.force_interval (${formatDuration(config.probe.force_interval)}) is ` +
        `slower than probe.interval (${formatDuration(config.probe.interval)}); ` +
        `an out-of-service pair is meant to be probed faster`,
    );
  }
  return warnings;
}
