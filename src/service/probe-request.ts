/** The OPTIONS request of one health probe, as sent to a pair member. */
import type { Config } from "../config/index.ts";
import type { DueProbe } from "../ha/index.ts";
import { buildRequest } from "../sip/index.ts";
import { randomToken } from "../sip/random-token.ts";

/** Our host[:port] as members see it (the From host; the Via's without `port`). */
export function sentBy(c: Config, port: number | null = c.advertise.port): string {
  const h = c.advertise.host.includes(":") ? `[${c.advertise.host}]` : c.advertise.host;
  return port === null ? h : `${h}:${port}`;
}

/**
 * A builder of probe requests. Everything vipless generates is unpredictable (RFC 3261
 * §8.1.1.4 recommends cryptographically random Call-IDs, §8.1.1.7 and §19.3 ask it of
 * branches and tags): the branch is the registry's (random), the From tag 32 random
 * bits and the Call-ID 96, which also keep instances probing one member apart.
 */
export function probeRequests(): (
  probe: DueProbe,
  config: Config,
  viaPort: number | null,
) => Uint8Array {
  /** `viaPort`: the UDP probe socket's port (its answers return there), else null. */
  return (probe, config, viaPort) => {
    const m = probe.member;
    const t = probe.dest.transport;
    return buildRequest({
      method: "OPTIONS",
      uri: m.uri.replace(/;.*$/, "") + (t === "tcp" ? ";transport=tcp" : ""),
      via: `SIP/2.0/${t.toUpperCase()} ${
        sentBy(config, viaPort ?? config.advertise.port)
      };branch=${probe.branch};rport`,
      from: `<sip:vipless@${sentBy(config)}>;tag=${randomToken(4)}`,
      to: `<${m.uri}>`,
      callId: `probe-${randomToken(12)}@vipless`,
      cseq: 1,
      maxForwards: 70,
      userAgent: config.sip.user_agent,
      headers: [["Accept", "application/sdp"]],
    });
  };
}
