/** Metrics read at scrape time from the pair registry, the proxy core and the transport. */
import { Gauge, HistogramView } from "../metrics/registry.ts";
import type { SipTransport } from "../transport/sip-transport.ts";
import type { ServiceMetrics } from "./metrics.ts";
import type { SipCore } from "./sip-core.ts";

export function registerCoreMetrics(
  metrics: ServiceMetrics,
  core: SipCore,
  transport: SipTransport,
): void {
  const r = metrics.registry;
  const members = () => core.pairsStatus().flatMap((p) => p.members.map((m) => ({ p, m })));
  r.add(
    new Gauge(
      "vipless_pair_active",
      "1 for the active member of each pair, 0 for the other.",
      () => members().map(({ p, m }) => [{ pair: p.name, member: m.uri }, m.active ? 1 : 0]),
    ),
  );
  r.add(
    new Gauge(
      "vipless_member_up",
      "1 while a pair member answers probes, 0 when down or not yet known.",
      () => members().map(({ p, m }) => [{ pair: p.name, member: m.uri }, m.up === true ? 1 : 0]),
    ),
  );
  r.add(
    new Gauge(
      "vipless_pair_in_service",
      "1 while the pair has an active member.",
      () => core.pairsStatus().map((p) => [{ pair: p.name }, p.inService ? 1 : 0]),
    ),
  );
  r.add(
    new Gauge(
      "vipless_switchovers_total",
      "Changes of a pair's active member, by reason.",
      () =>
        core.registry.switchoverCounts().map((s) => [{ pair: s.pair, reason: s.reason }, s.count]),
      "counter",
    ),
  );
  r.add(
    new HistogramView(
      "vipless_probe_rtt_seconds",
      "Round-trip time of answered OPTIONS probes.",
      () =>
        core.registry.probeRtt().map((h) => ({
          labels: { pair: h.pair, member: h.member },
          ...h.histogram,
        })),
    ),
  );
  r.add(
    new Gauge(
      "vipless_transactions",
      "Live SIP transactions (client and server).",
      () => core.proxy.liveTransactions,
    ),
  );
  r.add(
    new Gauge(
      "vipless_tcp_connections",
      "Open SIP TCP connections.",
      () => transport.connections,
    ),
  );
}
