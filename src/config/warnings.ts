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
  warnings.push(...tlsWithoutListener(config));
  return warnings;
}

/**
 * A TLS member while nothing listens on tls://: vipless still reaches it, but the
 * Record-Route of its calls names a TLS port of ours where nothing listens, so the
 * member's requests inside those dialogs (BYE, re-INVITE) go nowhere.
 */
function tlsWithoutListener(config: Config): string[] {
  if (config.listen.some((spec) => spec.transport === "tls")) return [];
  const members = config.pairs.flatMap((pair) => [pair.primary, pair.backup])
    .filter((member) => member.transport === "tls");
  if (members.length === 0) return [];
  return [
    `listen has no tls:// address, yet ${members.map((m) => m.uri).join(", ")} ` +
    `${members.length === 1 ? "is a TLS member" : "are TLS members"}: the Record-Route ` +
    `of their calls names a TLS port where nothing listens, so requests they send inside ` +
    `a dialog fail; add e.g. tls://0.0.0.0:5061`,
  ];
}
