/** Metrics read at scrape time from the pair registry, the proxy core and the transport. */
import { Gauge, HistogramView, type Labels } from "../metrics/registry.ts";
import type { TrafficKind } from "./member-traffic.ts";
import type { SipTransport } from "../transport/sip-transport.ts";
import { TCP_REFUSALS } from "../transport/tcp-streams.ts";
import { ALIAS_REFUSALS } from "../transport/via-alias.ts";
import type { ServiceMetrics } from "./metrics.ts";
import type { SipCore } from "./sip-core.ts";
import type { TransportSetup } from "./transport-setup.ts";

const HEALTH_STATES = ["up", "down", "unknown"] as const;
const PROBE_OUTCOMES = ["ok", "timeout", "transport-error", "bad-status"] as const;
const TRAFFIC_HELP: ReadonlyArray<[TrafficKind, string]> = [
  ["forwarded", "Requests forwarded to a pair member (each try counts)."],
  ["retried", "Requests forwarded to a pair member after an earlier hop failed (failover)."],
  ["failed", "Requests forwarded to a pair member that failed at the transport."],
  ["timed_out", "Requests forwarded to a pair member that got no answer in time."],
];

export function registerCoreMetrics(
  metrics: ServiceMetrics,
  core: SipCore,
  transport: SipTransport,
): void {
  const r = metrics.registry;
  const members = () => core.pairsStatus().flatMap((p) => p.members.map((m) => ({ p, m })));
  /** Every configured member's labels: pair (its current name), role, member URI. */
  const labelled = (f: (m: { status: string; active: boolean; maintenance: boolean }) => number) =>
    members().map(({ p, m }): [Labels, number] => [
      { pair: p.name, role: m.role, member: m.uri },
      f(m),
    ]);
  r.add(
    new Gauge(
      "vipless_pair_active",
      "1 for the active member of each pair, 0 for the other.",
      () => members().map(({ p, m }) => [{ pair: p.name, member: m.uri }, m.active ? 1 : 0]),
    ),
  );
  r.add(
    new Gauge(
      "vipless_pair_active_member",
      "1 for the active member of each pair, 0 for the other, with its role " +
        '(alert on the backup active: {role="backup"} == 1).',
      () => labelled((m) => (m.active ? 1 : 0)),
    ),
  );
  r.add(
    new Gauge(
      "vipless_member_unresolved",
      "1 while a pair member named by DNS name resolves to nothing (RFC 3263; it counts " +
        "as down meanwhile), else 0.",
      () =>
        core.memberDns().map((d) => [{ pair: d.pair, role: d.role }, d.resolved === false ? 1 : 0]),
    ),
  );
  r.add(
    new Gauge(
      "vipless_member_up",
      "Pair member health from its probes: 1 up, 0 down, -1 not yet known.",
      () => labelled((m) => (m.status === "up" ? 1 : m.status === "down" ? 0 : -1)),
    ),
  );
  r.add(
    new Gauge(
      "vipless_member_state",
      "1 for a pair member's current health state (up, down or unknown), 0 for the others.",
      () =>
        members().flatMap(({ p, m }) =>
          HEALTH_STATES.map((state): [Labels, number] => [
            { pair: p.name, role: m.role, member: m.uri, state },
            m.status === state ? 1 : 0,
          ])
        ),
    ),
  );
  r.add(
    new Gauge(
      "vipless_member_maintenance",
      "1 while the operator has a pair member in maintenance (no new dialogs go to it).",
      () => labelled((m) => (m.maintenance ? 1 : 0)),
    ),
  );
  const addresses = () =>
    members().flatMap(({ p, m }) => {
      const spec = core.registry.member(p.name, m.role);
      const labels = { pair: p.name, role: m.role, member: m.uri };
      return spec ? [{ host: spec.host, port: spec.port, labels }] : [];
    });
  for (const [kind, help] of TRAFFIC_HELP) {
    r.add(
      new Gauge(
        `vipless_member_${kind}_total`,
        help,
        () => metrics.traffic.samples(kind, addresses()),
        "counter",
      ),
    );
  }
  r.add(
    new Gauge(
      "vipless_probe_results_total",
      "OPTIONS probes by member and outcome (ok, timeout, transport-error, bad-status).",
      () => {
        const counts = new Map(
          core.registry.probeResults().map((c) => [`${c.pair} ${c.member} ${c.result}`, c.count]),
        );
        return labelled(() => 0).flatMap(([labels]) =>
          PROBE_OUTCOMES.map((result): [Labels, number] => [
            { ...labels, result },
            counts.get(`${labels.pair} ${labels.member} ${result}`) ?? 0,
          ])
        );
      },
      "counter",
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
    new Gauge(
      "vipless_probe_answers_rejected_total",
      "Probe answers dropped because they came from another address than the probed member's.",
      () => {
        const rejected = core.registry.rejectedProbeAnswers();
        return rejected.map((a) => [{ pair: a.pair, member: a.member }, a.count]);
      },
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
      "vipless_member_flaps_total",
      "Times a member was reported flapping (more than 4 state changes in a minute).",
      () => core.registry.flapCounts().map((f) => [{ pair: f.pair, member: f.member }, f.count]),
      "counter",
    ),
  );
  r.add(core.lag.histogram);
  r.add(
    new Gauge(
      "vipless_own_delay_seconds",
      "vipless's own delay: its event loop's sustained lag (5 of the last 8 samples), and the wait in the SIP socket queue (2 samples).",
      () => [
        [{ source: "event-loop" }, core.lag.sustainedMs() / 1000],
        [{ source: "socket-queue" }, core.queue.delayMs() / 1000],
      ],
    ),
  );
  r.add(
    new Gauge(
      "vipless_udp_receive_queue_bytes",
      "Bytes the kernel holds unread for the SIP UDP sockets (its accounting, with overhead).",
      () => core.queue.queuedBytes() ?? [],
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
      "vipless_dns_parked_requests",
      "Requests waiting for the RFC 3263 lookup of their target's name.",
      () => core.proxy.parked.requests,
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

/** The transport's limits and the per-source limiter (tcp.*, protect.*, sip.udp_buffer_bytes). */
export function registerProtectMetrics(
  metrics: ServiceMetrics,
  setup: TransportSetup,
  now: () => number,
): void {
  const r = metrics.registry;
  const { transport, limiter } = setup;
  r.add(
    new Gauge(
      "vipless_tcp_refused_total",
      "TCP connections refused (over a cap) or closed (past a deadline) by a limit, by reason.",
      () => {
        const counts = new Map(transport.refusalCounts());
        return TCP_REFUSALS.map((reason) => [{ reason }, counts.get(reason) ?? 0]);
      },
      "counter",
    ),
  );
  r.add(
    new Gauge(
      "vipless_tls_failures_total",
      "TLS connections that failed or stalled in their handshake (wrong-name, expired or " +
        "untrusted certificate, plain text on the TLS port), by side.",
      () => {
        const counts = new Map(transport.tlsFailureCounts());
        return (["inbound-handshake", "outbound-handshake"] as const).map((kind) => [
          { kind: kind.replace("-handshake", "") },
          counts.get(kind) ?? 0,
        ]);
      },
      "counter",
    ),
  );
  r.add(
    new Gauge(
      "vipless_tls_alias_ignored_total",
      "TLS requests whose Via alias (RFC 5923) was not honoured because the client's " +
        "certificate does not prove the Via's host: none, unverified, or another name.",
      () => {
        const counts = new Map(transport.aliasRefusalCounts());
        return ALIAS_REFUSALS.map((reason) => [{ reason }, counts.get(reason) ?? 0]);
      },
      "counter",
    ),
  );
  r.add(
    new Gauge(
      "vipless_tcp_connections_limit",
      "Most open SIP TCP connections: tcp.max_connections or what the open-files limit leaves.",
      () => transport.limits.tcp.maxConnections,
    ),
  );
  r.add(
    new Gauge(
      "vipless_sources_blocked",
      "Source addresses blocked now for exceeding protect.max_requests_per_source.",
      () => limiter.blockedAt(now()),
    ),
  );
  r.add(
    new Gauge(
      "vipless_source_blocks_total",
      "Times a source address was blocked for exceeding protect.max_requests_per_source.",
      () => limiter.blocks,
      "counter",
    ),
  );
  r.add(
    new Gauge(
      "vipless_udp_receive_drops_total",
      "Datagrams the kernel dropped on vipless's UDP sockets (full receive buffer), " +
        "per socket (SO_MEMINFO, or /proc/net/udp by local port).",
      () => {
        const drops = transport.udpReceiveDrops();
        return drops === null ? [] : drops;
      },
      "counter",
    ),
  );
}
