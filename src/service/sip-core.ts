/**
 * Glue between the pure cores and the running process: feeds the proxy core and the
 * pair registry with bytes and time, runs one runtime timer for both, sends the
 * OPTIONS probes, and exposes their state to HTTP, metrics and logs.
 *
 * Both cores run on the monotonic clock; wall-clock time enters only where it is
 * shown (the /status snapshot and the log lines).
 */
import { MemberSilence } from "../ha/member-silence.ts";
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/index.ts";
import type { SwitchoverResult as HttpSwitchoverResult } from "../http/app.ts";
import { type HaEvent, PairRegistry, type PairSnapshot } from "../ha/index.ts";
import { PROBE_BRANCH_PREFIX } from "../proxy/loop.ts";
import { ProxyCore } from "../proxy/proxy-core.ts";
import { Router } from "../proxy/router.ts";
import type { Dest, ProxySettings } from "../proxy/types.ts";
import type { Located } from "../dns/locate.ts";
import type { Runtime, TcpConnection } from "../runtime/types.ts";
import type { SipTransport } from "../transport/sip-transport.ts";
import type { Endpoint, InboundSource, OpenedListener } from "../transport/types.ts";
import { haConfigOf } from "./ha-config.ts";
import { haEventLogger } from "./ha-log.ts";
import { ActiveClock } from "./active-clock.ts";
import { LoopLag } from "./loop-lag.ts";
import { isSaturated } from "./saturation.ts";
import { ThreadBusy } from "./thread-busy.ts";
import { SocketQueueDelay } from "./socket-queue.ts";
import { MemberDns, type MemberDnsStatus } from "./member-dns.ts";
import type { ServiceMetrics } from "./metrics.ts";
import { OverloadReport } from "./overload-report.ts";
import { OncePerKey } from "../protect/once-per-key.ts";
import { probeRequests } from "./probe-request.ts";
import { WakeTimer } from "./wake-timer.ts";

export interface SipCore {
  onMessage(bytes: Uint8Array, src: InboundSource): void;
  onSendError(to: Endpoint, error: Error): void;
  /** Called once the listeners are open: their addresses count as "us". */
  start(listeners: OpenedListener[]): void;
  ready(): boolean;
  pairsStatus(): PairSnapshot[];
  /** Each member named by DNS name: its name, targets, current one, and why not (RFC 3263). */
  memberDns(): MemberDnsStatus[];
  switchover(pair: string, force: boolean): HttpSwitchoverResult;
  reconfigure(config: Config): void;
  /** SIGTERM: not ready, OPTIONS to vipless and new dialogs get 503; the rest goes on. */
  drain(): void;
  /** Transactions still waiting for an answer (not those only absorbing retransmissions). */
  busyTransactions(): number;
  stop(): void;
  readonly registry: PairRegistry;
  readonly proxy: ProxyCore;
  /** vipless's own event-loop delay, and the active clock HA runs on. */
  readonly lag: LoopLag;
  /** How long datagrams wait in the SIP sockets' kernel queue. */
  readonly queue: SocketQueueDelay;
}

/**
 * Delay of our own that excuses a forward's timeout: stall time within its failover
 * window plus the socket queue's delay now (the answer may be waiting unread).
 */
const STALL_EXCUSES_MS = 50;

export interface SipCoreDeps {
  rt: Runtime;
  config: Config;
  metrics: ServiceMetrics;
  transport: SipTransport;
  log: Logger;
}

function proxySettings(
  c: Config,
  listeners: OpenedListener[],
  probePorts: readonly number[] = [],
): ProxySettings {
  const tls = listeners.find((l) => l.transport === "tls");
  return {
    advertiseHost: c.advertise.host,
    advertisePort: c.advertise.port,
    // Without a TLS listener our Via over TLS names the advertised port: it is ours.
    advertiseTlsPort: tls?.port ?? c.advertise.port,
    tlsAlias: c.tls.client_cert,
    // The probe sockets' ports are ours too: probe answers come back with them in our Via;
    // so is the TLS port, which our Record-Route over TLS names.
    localAddresses: [
      ...listeners.map((l) => ({ host: l.host, port: l.port })),
      ...probePorts.map((port) => ({ host: c.advertise.host, port })),
      ...(tls ? [{ host: c.advertise.host, port: tls.port }] : []),
    ],
    failoverTimeoutMs: c.failover.timeout,
    t1Ms: c.sip.t1,
    maxTransactions: c.sip.max_transactions,
    maxMessageBytes: c.sip.max_message_bytes,
    userAgent: c.sip.user_agent,
    maxInviteRate: c.overload.max_invite_rate,
  };
}

export function createSipCore(deps: SipCoreDeps): SipCore {
  const { rt, metrics, transport, log } = deps;
  let config = deps.config;
  let listeners: OpenedListener[] = [];
  let stopped = false;
  let draining = false;
  const mono = () => rt.monotonic();
  // HA judges on the active clock: a stall of vipless's own, or a queue it reads behind,
  // is no member's fault (active-clock.ts). The proxy's transaction timers keep the
  // real clock.
  const lag = new LoopLag(rt);
  const queue = new SocketQueueDelay(rt, transport);
  const busy = new ThreadBusy(rt);
  const active = new ActiveClock(mono, lag, queue);
  const haNow = () => active.now();
  const wallOffset = () => rt.now() - active.now();

  const registry = new PairRegistry(haConfigOf(config), {
    now: haNow(),
    branchPrefix: PROBE_BRANCH_PREFIX,
    onEvent: haEventLogger(deps.log.getChild("ha"), wallOffset),
  });
  const router = new Router(registry, config.serve);
  // Members named by DNS name: RFC 3263 targets; the router and the probes use the
  // current one, and the registry knows the member there. Lookups start at once.
  const memberDns = new MemberDns(
    rt,
    config,
    deps.log.getChild("dns"),
    (host, address, port) => registry.learnAddress(host, address, port),
  );
  memberDns.refresh(mono());
  router.locate = (m) => memberDns.locate(m);
  const probeRequest = probeRequests();
  // vipless's own delays, the input of its early 503s (saturation.ts).
  const saturationSigns = () => ({
    lagMs: lag.sustainedMs(),
    queueDelayMs: queue.delayMs(),
    overflowing: queue.overflowing(),
    draining: queue.draining(),
  });
  // Which sign made vipless saturated, in its `overload` line: the operator's first
  // question (a busy neighbour on the host shows as loop lag with a calm queue).
  const overload = new OverloadReport(log, metrics.overload, {
    saturated: () => {
      const s = saturationSigns();
      return {
        loop_lag_ms: Math.round(s.lagMs),
        queue_delay_ms: Math.round(s.queueDelayMs),
        queue_overflowing: s.overflowing,
        max_delay_ms: config.overload.max_delay,
        main_thread_busy: busy.share(),
      };
    },
  });
  const forwardFailureLog = new OncePerKey(1000, 1000);
  const silence = new MemberSilence();
  const overloadControlLog = new OncePerKey(10_000, 1000);

  // oc-seq is wall-clock based (RFC 7339's example is a timestamp), so it grows across restarts.
  const ocSeqOffsetMs = rt.now() - mono();
  const proxy = new ProxyCore({ ...proxySettings(config, []), ocSeqOffsetMs }, router, {
    send(bytes, to) {
      transport.send(bytes, to, to.conn as TcpConnection | undefined);
    },
    // An outbound target named without a port (RFC 3263): its parked requests go on
    // when the lookup ends. The DNS client bounds it (its own timeouts, in-flight cap).
    locate(query, key) {
      memberDns.locateTarget(query).then(
        (found) => located(key, found),
        (e: unknown) => located(key, e instanceof Error ? e : new Error(String(e))),
      );
    },
  }, {
    onRequest: (method) => metrics.requests.inc({ method }),
    onResponse: (status) => metrics.responses.inc({ class: `${Math.floor(status / 100)}xx` }),
    onDrop: (reason) => metrics.dropped.inc({ reason }),
    onLocalResponse: (status) => metrics.sent.inc({ status: String(status) }),
    // Both get the sender as the transport saw it (proxy/upstream.ts senderOf); a member
    // host that names no member is routed like a member but switches nothing.
    onRequestFrom: (sender, method) => registry.onRequestFrom(sender, method, haNow()),
    isMember: (sender) => registry.identify(sender) !== null,
    onForwarded: (member, retry) => {
      metrics.traffic.forwarded(member, retry);
      // Silent for probe.timeout: suspect and probed now, as after a forward failure.
      const now = haNow();
      if (!silence.forwarded(member, now, config.probe.timeout)) return;
      registry.onForwardFailure(member, now);
      if (forwardFailureLog.pass(`${member.host}|${member.port}|silent`, mono()) !== null) {
        log.info("{host}:{port} sent nothing back for {ms} ms: probing it now", {
          event: "member-silent",
          ...member,
          ms: config.probe.timeout,
        });
      }
    },
    onAnswered: (member) => silence.heard(member),
    // RFC 3263 §4.3: a 503 moves a member named by DNS name to its next target.
    onUnavailable: (member) => memberDns.failed(member, mono()),
    onForwardFailure: (member, why) => {
      metrics.traffic.failed(member, why);
      // A timeout across a stall of our own, or while we read behind, says nothing about
      // the member: the call still moves on, but the member is not made suspect for it.
      const now = mono();
      const ours = lag.stalledWithin(now - config.failover.timeout, now) + queue.delayMs();
      const counted = why === "transport-error" ||
        (ours < STALL_EXCUSES_MS && !queue.overflowing());
      // One line per member and second: a failover under load fails thousands.
      const held = forwardFailureLog.pass(`${member.host}|${member.port}`, now);
      if (held !== null) {
        log.info("forward to {host}:{port} failed ({why})", {
          event: "forward-failure",
          ...member,
          why,
          counted,
          stalledMs: Math.round(ours),
          held,
        });
      }
      if (counted) {
        registry.onForwardFailure(member, haNow());
        // A member named by DNS name moves on to its next target.
        memberDns.failed(member, now);
      } else metrics.excused.inc({ what: "forward-timeout" });
    },
    // The proxy hands a probe answer over as the last thing it does with it, so acting
    // on the events (which calls back into the proxy) is safe here.
    onProbeResponse(branch, status, src) {
      const events = registry.probeAnswer(branch, status, src, haNow());
      if (events === null) return metrics.dropped.inc({ reason: "stale-probe-response" });
      actOn(events);
      timer.arm();
    },
    servedPairReady: () => !draining && registry.isInService(config.serve),
    onOverload: (reason) => overload.record(reason, mono()),
    // Whether vipless falls behind its work (saturation.ts).
    saturated: () => isSaturated(config.overload.max_delay, saturationSigns()),
    busy: () => busy.share(),
    // A member's RFC 7339 oc answer: one line per member and 10 s (a member under load
    // changes its value every few hundred ms); the refusals count as overload.
    onMemberOverloadControl: (member, change) => {
      const held = overloadControlLog.pass(`${member.host}|${member.port}|${change.kind}`, mono());
      if (held === null) return;
      log.warning("member {host}:{port} overload control: {what}", {
        event: "member-overload-control",
        ...member,
        ...change,
        what: change.kind === "throttle"
          ? `asks for ${change.loss}% less new traffic for ${change.validityMs} ms`
          : change.kind === "stop"
          ? "ends its request for less traffic"
          : `oc parameters ignored: ${change.why}`,
        held,
      });
    },
  });

  function located(key: string, found: Located | Error): void {
    if (stopped) return;
    if (found instanceof Error) {
      log.debug("DNS lookup of an outbound target failed: {error}", { key, error: found.message });
    }
    proxy.onLocated(key, found, mono());
    timer.arm();
  }

  /**
   * What the service does about HA events; logging is the registry's listener. An
   * INVITE the dead member answered with a provisional has no failover timer left and
   * would ring until Timer C (3 min): move what still waits on it to the other member.
   */
  function actOn(events: readonly HaEvent[]): void {
    if (stopped) return;
    // Requests still waiting on a pair out of service get 503 now, not at their timers;
    // first, so that the member-down of its last member has nothing left to move (a
    // caller hears "out of service", not a 408 from a hop that was tried in vain).
    for (const e of events) {
      if (e.type === "pair-out-of-service") proxy.onPairOutOfService(e.pair, mono());
    }
    for (const e of events) {
      if (e.type !== "member-down") continue;
      const member = registry.member(e.pair, e.role);
      if (!member) continue;
      proxy.onMemberDown({ host: member.host, port: member.port }, mono());
      // Its probes failed at the target they went to: a name with others tries the next.
      memberDns.probesFailed(member, mono());
    }
  }

  const timer = new WakeTimer(
    rt,
    // HA deadlines are on the active clock: monotonic = active + stall time so far.
    () =>
      Math.min(proxy.nextDeadline() ?? Infinity, registry.nextProbeDeadline() + active.behind()),
    (now) => {
      lag.catchUp(); // a stall is counted before the proxy judges a timeout across it
      proxy.tick(now);
      memberDns.refresh(now);
      const { probes, events } = registry.probesDue(haNow());
      const missed: HaEvent[] = [];
      for (const p of probes) {
        // Probes go where the member's traffic goes; a name that resolves to nothing
        // misses at once (the member counts as down until it resolves).
        const located = memberDns.probeDest(p.member);
        if (located === null) {
          missed.push(...registry.probeTransportError(p.dest, haNow()));
          continue;
        }
        const dest = located ?? p.dest;
        const viaPort = dest.transport === "udp" ? transport.probePort(dest.host) : null;
        transport.sendProbe(probeRequest({ ...p, dest }, config, viaPort), dest);
      }
      actOn([...events, ...missed]);
    },
  );

  return {
    onMessage(bytes, src) {
      const now = mono();
      // A runtime that starves timers while it reads (Bun, with a full socket queue:
      // measured, no timer ran for 15 s at 2.5x the top rate) still gets its queue
      // measured, from here. The other timers stay starved on purpose: judging probes and
      // forwards then would blame members for answers that wait in our queue.
      queue.runIfOverdue(now);
      busy.runIfOverdue(now);
      proxy.onMessage(bytes, src, now);
      timer.arm();
    },
    onSendError(to, error) {
      log.debug("send to {transport}:{host}:{port} failed: {error}", {
        ...to,
        error: error.message,
      });
      // A probe whose connection failed is a miss at once, not after its timeout (the
      // probe of a member named by DNS name went to its target: known by its name).
      const events = registry.probeTransportError(memberDns.memberDestOf(to) ?? to, haNow());
      proxy.onSendError(to as Dest, mono());
      actOn(events);
      timer.arm();
    },
    start(opened) {
      listeners = opened;
      proxy.reconfigure(proxySettings(config, listeners, transport.probePorts()), router);
      lag.start();
      queue.start();
      busy.start();
      timer.fire();
    },
    ready: () => !draining && registry.isInService(config.serve),
    pairsStatus: () => memberDns.withDns(registry.snapshot(haNow(), rt.now()).pairs),
    memberDns: () => memberDns.status(),
    switchover(pair, force) {
      const r = registry.switchover(pair, { force }, haNow());
      timer.arm();
      if (!r.ok) {
        return {
          ok: false,
          code: r.error.code,
          message: r.error.code === "unknown-pair"
            ? `no pair named '${pair}'`
            : `the other member of '${pair}' is down; add ?force=1 to switch anyway`,
        };
      }
      const status = registry.snapshot(haNow(), rt.now()).pairs.find((p) => p.name === pair);
      return { ok: true, status };
    },
    reconfigure(next) {
      config = next;
      registry.reconfigure(haConfigOf(next), haNow());
      memberDns.reconfigure(next);
      // The outbound targets found so far may come from the DNS servers just replaced.
      router.targets.clear();
      router.servedPair = next.serve;
      proxy.reconfigure(proxySettings(next, listeners, transport.probePorts()), router);
      timer.arm();
    },
    drain() {
      draining = router.draining = true;
    },
    busyTransactions: () => proxy.txl.size - proxy.txl.lingeringCount,
    stop() {
      stopped = true;
      timer.stop();
      memberDns.close();
      lag.stop();
      queue.stop();
      busy.stop();
    },
    registry,
    proxy,
    lag,
    queue,
  };
}
