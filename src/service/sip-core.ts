/**
 * Glue between the pure cores and the running process: feeds the proxy core and the
 * HA state with bytes and time, runs one runtime timer for both, sends the OPTIONS
 * probes, and exposes their state to HTTP, metrics and logs.
 */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/index.ts";
import type { SwitchoverResult as HttpSwitchoverResult } from "../http/app.ts";
import { HaState, type PairSnapshot } from "../ha/mod.ts";
import { PROBE_BRANCH_PREFIX } from "../proxy/loop.ts";
import { ProxyCore } from "../proxy/proxy-core.ts";
import { Router } from "../proxy/router.ts";
import type { Dest, ProxySettings, Source } from "../proxy/types.ts";
import type { Runtime, TcpConnection, TimerHandle } from "../runtime/types.ts";
import { buildRequest } from "../sip/index.ts";
import type { SipTransport } from "../transport/sip-transport.ts";
import type { Endpoint, InboundSource, OpenedListener } from "../transport/types.ts";
import type { ServiceMetrics } from "./metrics.ts";

export interface SipCore {
  onMessage(bytes: Uint8Array, src: InboundSource): void;
  onSendError(to: Endpoint, error: Error): void;
  /** Called once the listeners are open: their addresses count as "us". */
  start(listeners: OpenedListener[]): void;
  ready(): boolean;
  pairsStatus(): PairSnapshot[];
  switchover(pair: string, force: boolean): HttpSwitchoverResult;
  reconfigure(config: Config): void;
  stop(): void;
  readonly ha: HaState;
  readonly proxy: ProxyCore;
}

export interface SipCoreDeps {
  rt: Runtime;
  config: Config;
  metrics: ServiceMetrics;
  transport: SipTransport;
  log: Logger;
}

function proxySettings(c: Config, listeners: OpenedListener[]): ProxySettings {
  return {
    advertiseHost: c.advertise.host,
    advertisePort: c.advertise.port,
    localAddresses: listeners.map((l) => ({ host: l.host, port: l.port })),
    failoverTimeoutMs: c.failover.timeout,
    t1Ms: c.sip.t1,
    maxTransactions: c.sip.max_transactions,
    maxMessageBytes: c.sip.max_message_bytes,
    userAgent: c.sip.user_agent,
    maxInviteRate: c.overload.max_invite_rate,
  };
}

function sentBy(c: Config): string {
  const h = c.advertise.host.includes(":") ? `[${c.advertise.host}]` : c.advertise.host;
  return c.advertise.port === null ? h : `${h}:${c.advertise.port}`;
}

export function createSipCore(deps: SipCoreDeps): SipCore {
  const { rt, metrics, transport, log } = deps;
  let config = deps.config;
  let listeners: OpenedListener[] = [];
  const haLog = deps.log.getChild("ha");

  const ha = new HaState(config, {
    now: rt.now(),
    onEvent(e) {
      const { type, ...facts } = e;
      const at = new Date(e.at).toISOString();
      if (type === "switchover") {
        haLog.warning("pair {pair}: switchover from {from} to {to} ({reason})", {
          event: type,
          ...facts,
          at,
        });
      } else if (type === "pair-out-of-service") {
        haLog.error("pair {pair} is out of service ({reason})", { event: type, ...facts, at });
      } else if (type === "member-down") {
        haLog.warning("pair {pair}: {role} {member} is down ({cause})", {
          event: type,
          ...facts,
          at,
        });
        // An INVITE the dead member answered with a provisional has no failover timer
        // left and would ring until Timer C (3 min): move what still waits on it to the
        // other member now. After the HA state has finished this change.
        queueMicrotask(() => failOverPendingTo(e.pair, e.role));
      } else {
        haLog.info("pair {pair}: {role} {member} is up", { event: type, ...facts, at });
      }
    },
  });
  const router = new Router(ha, config.serve);
  /** The proxy runs on the monotonic clock; HA on wall-clock ms (its snapshot shows times). */
  const mono = () => rt.monotonic();

  const probeBranches = new Map<string, number>();
  /** In-flight probe branches by destination, so that a refused connection is a miss at once. */
  const probesTo = new Map<string, Set<string>>();
  const destKey = (t: string, host: string, port: number) => `${t}|${host}|${port}`;
  let probeSeq = 0;
  const callIdBase = Math.random().toString(36).slice(2, 10);

  const proxy = new ProxyCore(proxySettings(config, []), router, {
    send(bytes, to) {
      transport.send(bytes, to, to.conn as TcpConnection | undefined);
    },
  }, {
    onRequest: (method) => metrics.requests.inc({ method }),
    onResponse: (status) => metrics.responses.inc({ class: `${Math.floor(status / 100)}xx` }),
    onDrop: (reason) => metrics.dropped.inc({ reason }),
    onLocalResponse: (status) => metrics.sent.inc({ status: String(status) }),
    onRequestFrom: (src, method) => ha.onRequestFrom(src.host, src.port, method, rt.now()),
    isMember: (src: Source) => ha.memberFrom(src.host, src.port) !== null,
    onForwardFailure: (member, why) => {
      log.info("forward to {host}:{port} failed ({why})", {
        event: "forward-failure",
        ...member,
        why,
      });
      ha.onForwardFailure(member, rt.now());
    },
    onProbeResponse(branch, status) {
      const id = probeBranches.get(branch);
      if (id === undefined) return metrics.dropped.inc({ reason: "stale-probe-response" });
      probeBranches.delete(branch);
      ha.prober.onAnswer(id, status, rt.now());
      arm();
    },
    servedPairReady: () => ha.isInService(config.serve),
  });

  /** INVITEs ringing on a member now known dead go on to their next hop. */
  function failOverPendingTo(pair: string, role: "primary" | "backup"): void {
    const member = config.pairs.find((p) => p.name === pair)?.[role];
    if (!member || stopped) return;
    proxy.onMemberDown({ host: member.host, port: member.port }, mono());
    arm();
  }

  function sendProbes(): void {
    const now = rt.now();
    for (const p of ha.prober.due(now)) {
      const m = p.member;
      const transportName = m.transport === "tcp" ? "tcp" : "udp";
      const branch = `${PROBE_BRANCH_PREFIX}${(++probeSeq).toString(36)}`;
      probeBranches.set(branch, p.id);
      // A probe that is never answered is counted as a miss by `due`; forget its branch then.
      const key = destKey(transportName, m.host, m.port);
      let inFlight = probesTo.get(key);
      if (!inFlight) probesTo.set(key, inFlight = new Set());
      inFlight.add(branch);
      rt.setTimer(Math.max(0, p.deadline - now) + 1000, () => {
        probeBranches.delete(branch);
        probesTo.get(key)?.delete(branch);
      });
      const dest: Endpoint = { transport: transportName, host: m.host, port: m.port };
      transport.send(
        buildRequest({
          method: "OPTIONS",
          uri: m.uri.replace(/;.*$/, "") + (transportName === "tcp" ? ";transport=tcp" : ""),
          via: `SIP/2.0/${transportName.toUpperCase()} ${sentBy(config)};branch=${branch};rport`,
          from: `<sip:vipless@${sentBy(config)}>;tag=${branch.slice(-8)}`,
          to: `<${m.uri}>`,
          callId: `probe-${callIdBase}-${probeSeq}@vipless`,
          cseq: 1,
          maxForwards: 70,
          userAgent: config.sip.user_agent,
          headers: [["Accept", "application/sdp"]],
        }),
        dest,
      );
    }
  }

  // One runtime timer for the proxy's transactions and the prober.
  let timer: TimerHandle | null = null;
  let armedAt = Infinity;
  let stopped = false;
  function arm(): void {
    if (stopped) return;
    const monoNow = mono();
    const proxyAt = proxy.nextDeadline() ?? Infinity;
    const probeAt = ha.prober.nextDeadline() - rt.now() + monoNow;
    const at = Math.min(proxyAt, probeAt);
    if (at >= armedAt && timer !== null) return;
    if (timer !== null) rt.clearTimer(timer);
    armedAt = at;
    timer = rt.setTimer(Math.max(0, Math.min(at - monoNow, 60_000)), fire);
  }
  /**
   * When the timer fires much later than it was due, the event loop was stalled (a GC
   * pause, a busy machine) and answers may be waiting, unread, in the socket buffers.
   * Judging timeouts now would blame members for our own pause (a false failover, a
   * member marked down), so the tick is put off once by a millisecond: the runtime
   * polls the sockets in between and those answers are read first.
   */
  const STALL_MS = 50;
  let postponed = false;
  function fire(): void {
    const dueAt = armedAt;
    timer = null;
    armedAt = Infinity;
    if (stopped) return;
    if (!postponed && mono() - dueAt > STALL_MS) {
      postponed = true;
      armedAt = mono() + 1;
      timer = rt.setTimer(1, fire);
      return;
    }
    postponed = false;
    proxy.tick(mono());
    sendProbes();
    arm();
  }

  return {
    onMessage(bytes, src) {
      proxy.onMessage(bytes, src, mono());
      arm();
    },
    onSendError(to, error) {
      log.debug("send to {transport}:{host}:{port} failed: {error}", {
        ...to,
        error: error.message,
      });
      // A probe whose connection failed is a miss at once, not after its timeout.
      const inFlight = probesTo.get(destKey(to.transport, to.host, to.port));
      for (const branch of inFlight ?? []) {
        const id = probeBranches.get(branch);
        probeBranches.delete(branch);
        if (id !== undefined) ha.prober.onTransportError(id, rt.now());
      }
      inFlight?.clear();
      proxy.onSendError(to as Dest, mono());
      arm();
    },
    start(opened) {
      listeners = opened;
      proxy.reconfigure(proxySettings(config, listeners), router);
      fire();
    },
    ready: () => ha.isInService(config.serve),
    pairsStatus: () => ha.snapshot(rt.now()).pairs,
    switchover(pair, force) {
      const r = ha.switchover(pair, { force }, rt.now());
      arm();
      if (!r.ok) {
        return {
          ok: false,
          code: r.error.code,
          message: r.error.code === "unknown-pair"
            ? `no pair named '${pair}'`
            : `the other member of '${pair}' is down; add ?force=1 to switch anyway`,
        };
      }
      return { ok: true, status: ha.snapshot(rt.now()).pairs.find((p) => p.name === pair) };
    },
    reconfigure(next) {
      config = next;
      ha.reconfigure(next, rt.now());
      router.servedPair = next.serve;
      proxy.reconfigure(proxySettings(next, listeners), router);
      arm();
    },
    stop() {
      stopped = true;
      if (timer !== null) rt.clearTimer(timer);
    },
    ha,
    proxy,
  };
}
