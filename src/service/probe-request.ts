/** The OPTIONS request of one health probe, as sent to a pair member. */
import type { Config } from "../config/index.ts";
import type { DueProbe } from "../ha/index.ts";
import { buildRequest } from "../sip/index.ts";

/** Our host[:port] as members see it: the Via sent-by and the From host. */
export function sentBy(c: Config): string {
  const h = c.advertise.host.includes(":") ? `[${c.advertise.host}]` : c.advertise.host;
  return c.advertise.port === null ? h : `${h}:${c.advertise.port}`;
}

/**
 * A builder of probe requests. Call-IDs are unique per process: a random instance part
 * (so that several vipless instances probing one member never share one) and a count.
 */
export function probeRequests(): (probe: DueProbe, config: Config) => Uint8Array {
  const callIdBase = Math.random().toString(36).slice(2, 10);
  let seq = 0;
  return (probe, config) => {
    const m = probe.member;
    const t = probe.dest.transport;
    return buildRequest({
      method: "OPTIONS",
      uri: m.uri.replace(/;.*$/, "") + (t === "tcp" ? ";transport=tcp" : ""),
      via: `SIP/2.0/${t.toUpperCase()} ${sentBy(config)};branch=${probe.branch};rport`,
      from: `<sip:vipless@${sentBy(config)}>;tag=${probe.branch.slice(-8)}`,
      to: `<${m.uri}>`,
      callId: `probe-${callIdBase}-${++seq}@vipless`,
      cseq: 1,
      maxForwards: 70,
      userAgent: config.sip.user_agent,
      headers: [["Accept", "application/sdp"]],
    });
  };
}
