/**
 * The SIP transport as the service runs it: its limits from the configuration and the
 * descriptor limit, per-source protection in front of the SIP core (before parsing,
 * the cheapest place), and the log lines and counters for what the limits refuse.
 */
import type { Logger } from "@logtape/logtape";
import type { Config } from "../config/index.ts";
import { normaliseHost } from "../net/address.ts";
import { OncePerKey } from "../protect/once-per-key.ts";
import { SourceLimiter, type SourceLimiterSettings } from "../protect/source-limiter.ts";
import type { OpenFileLimit, Runtime } from "../runtime/types.ts";
import { SipTransport, type TransportLimits } from "../transport/sip-transport.ts";
import { readTlsMaterial } from "../transport/tls-files.ts";
import type { Endpoint, InboundSource } from "../transport/types.ts";
import type { ServiceMetrics } from "./metrics.ts";

/** The SIP core as the transport feeds it. */
interface Core {
  onMessage(bytes: Uint8Array, src: InboundSource): void;
  onSendError(to: Endpoint, error: Error): void;
}

/** "auto" UDP buffers: as large as the kernel allows, up to this. */
export const AUTO_UDP_BUFFER_MAX = 8 * 1024 * 1024;
/** Sources the per-source limiter tracks at most (about 100 bytes each). */
const MAX_TRACKED_SOURCES = 65_536;
/** The open-files limit assumed where it cannot be read: the usual default soft limit. */
export const UNKNOWN_FILE_LIMIT = 1024;
/** A refusal from one source is logged once per this. */
const REFUSAL_LOG_WINDOW_MS = 60_000;

/**
 * Descriptors kept free of SIP connections: the HTTP API, UDP sockets, connections to
 * the members and logs must still open when connections pile up. A quarter of a small
 * limit, 256 of a large one.
 */
export function descriptorReserve(softLimit: number): number {
  return Math.min(256, Math.floor(softLimit / 4));
}

export function transportLimitsOf(
  config: Config,
  files: OpenFileLimit | null,
  bufferMax: { receive: number; send: number } | null,
  isExempt: (host: string) => boolean,
  isBlocked?: (host: string) => boolean,
): TransportLimits {
  const t = config.tcp;
  const soft = files?.soft ?? UNKNOWN_FILE_LIMIT;
  const byDescriptors = soft - descriptorReserve(soft);
  const asked = config.sip.udp_buffer_bytes;
  const auto = asked === "auto";
  return {
    maxMessageBytes: config.sip.max_message_bytes,
    tcp: {
      maxConnections: Math.max(1, Math.min(t.max_connections, byDescriptors)),
      maxConnectionsPerSource: t.max_connections_per_source,
      messageTimeoutMs: t.message_timeout,
      idleTimeoutMs: t.idle_timeout,
      maxHeaderBytes: t.max_header_bytes,
    },
    // With the ceilings unknown (Deno guards /proc), ask the most: the kernel caps it.
    udpBufferBytes: asked === 0 ? null : {
      receive: auto ? Math.min(AUTO_UDP_BUFFER_MAX, bufferMax?.receive ?? Infinity) : asked,
      send: auto ? Math.min(AUTO_UDP_BUFFER_MAX, bufferMax?.send ?? Infinity) : asked,
    },
    isExempt,
    isBlocked,
  };
}

function limiterSettings(config: Config): SourceLimiterSettings {
  return {
    ratePerSecond: config.protect.max_requests_per_source,
    blockMs: config.protect.block_time,
    maxSources: MAX_TRACKED_SOURCES,
  };
}

/** The pair members' addresses, as the transport reports sources. */
function memberHostsOf(config: Config): Set<string> {
  return new Set(config.pairs.flatMap((p) => [p.primary.host, p.backup.host].map(normaliseHost)));
}

/** A request starts with its method; a response with "SIP/". */
function isRequest(bytes: Uint8Array): boolean {
  return !(bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f);
}

export interface TransportSetup {
  readonly transport: SipTransport;
  readonly limiter: SourceLimiter;
  /** The open-files limit at start, as raised (null where unknown). */
  readonly files: OpenFileLimit | null;
  reconfigure(config: Config): void;
}

export async function setUpTransport(
  rt: Runtime,
  initial: Config,
  metrics: ServiceMetrics,
  log: Logger,
  core: () => Core,
): Promise<TransportSetup> {
  let config = initial;
  let members = memberHostsOf(config);
  const isMember = (host: string) => members.has(normaliseHost(host));
  const files = await rt.raiseOpenFileLimit();
  const bufferMax = rt.socketBufferMax();
  const limiter = new SourceLimiter(limiterSettings(config));
  const once = new OncePerKey(REFUSAL_LOG_WINDOW_MS);
  const isBlocked = (host: string) =>
    limiter.settings.ratePerSecond > 0 && limiter.isBlocked(normaliseHost(host), rt.monotonic());
  const limitsOf = (c: Config) => transportLimitsOf(c, files, bufferMax, isMember, isBlocked);
  const limits = limitsOf(config);
  logFileLimit(log, files, limits.tcp.maxConnections, config.tcp.max_connections);

  /** Logs a refusal once per source and reason per minute, with what it held back. */
  const logRefusal = (what: string, src: Endpoint, detail: Record<string, unknown>) => {
    const suppressed = once.pass(`${what}|${normaliseHost(src.host)}`, rt.monotonic());
    if (suppressed === null) return;
    log.warning("{transport} from {host}:{port} refused: {reason}", {
      event: "source-refused",
      transport: src.transport,
      host: src.host,
      port: src.port,
      reason: what,
      ...detail,
      suppressed_last_minute: suppressed,
    });
  };

  let buffersLogged = false;
  const transport = new SipTransport(rt, {
    onMessage(bytes, src) {
      if (limiter.settings.ratePerSecond > 0 && !isMember(src.host)) {
        const verdict = limiter.check(normaliseHost(src.host), isRequest(bytes), rt.monotonic());
        if (verdict !== "pass") {
          // Dropped unanswered: an answer would cost us and tell the flood it got through.
          metrics.dropped.inc({ reason: "source-blocked" });
          if (verdict === "newly-blocked") {
            logRefusal("source-blocked", src, {
              max_requests_per_source: config.protect.max_requests_per_source,
              block_ms: config.protect.block_time,
            });
          }
          return;
        }
      }
      core().onMessage(bytes, src);
    },
    onDrop(reason, src) {
      metrics.dropped.inc({ reason });
      logRefusal(reason, src, {});
    },
    onSendError: (to, error) => core().onSendError(to, error),
    onRefuse(reason, src) {
      // An idle connection closed is housekeeping: counted, logged at debug only.
      if (reason === "idle-timeout") {
        log.debug("idle TCP connection from {host}:{port} closed", { ...src, event: "tcp-idle" });
        return;
      }
      logRefusal(reason, src, {});
    },
    onUdpBuffers(local, buffers) {
      // One line at start says what the sockets got; the other sockets go to debug.
      const level = buffersLogged ? "debug" : buffers.ok ? "info" : "warning";
      buffersLogged = true;
      if (buffers.ok) {
        log[level]("UDP buffers: receive {receive}, send {send} bytes", {
          event: "udp-buffers",
          ...local,
          receive: buffers.receive,
          send: buffers.send,
          asked: limits.udpBufferBytes,
        });
      } else {
        log[level]("UDP buffers left at the kernel default ({reason})", {
          event: "udp-buffers",
          ...local,
          reason: buffers.error,
          asked: limits.udpBufferBytes,
        });
      }
    },
    onAliasIgnored(reason, src, target) {
      // Once per source and reason a minute: a client sends alias on every request.
      const suppressed = once.pass(`alias|${reason}|${normaliseHost(src.host)}`, rt.monotonic());
      if (suppressed === null) return;
      log.warning(
        "RFC 5923 alias from {host}:{port} ignored ({reason}): its certificate does not " +
          "prove {alias_host} its own",
        {
          event: "tls-alias-ignored",
          host: src.host,
          port: src.port,
          reason,
          alias_host: target.host,
          alias_port: target.port,
          suppressed_last_minute: suppressed,
        },
      );
    },
    onTlsError(kind, peer, error) {
      logRefusal(kind === "inbound-handshake" ? "tls-handshake" : "tls-member-handshake", {
        transport: "tls",
        ...peer,
      }, { event: "tls-handshake-failed", error: error.message });
    },
  }, limits);
  // A file that cannot be read stops the start (the error names it).
  await transport.setTls(readTlsMaterial(rt, config));

  return {
    transport,
    limiter,
    files,
    reconfigure(next) {
      config = next;
      members = memberHostsOf(next);
      limiter.reconfigure(limiterSettings(next));
      transport.setLimits(limitsOf(next));
      // New certificates for new connections; on a file that cannot be read, the old stay.
      try {
        const material = readTlsMaterial(rt, next);
        transport.setTls(material).then(
          () => material.server && log.info("TLS certificate reloaded", { event: "tls-reloaded" }),
          (e: Error) =>
            log.error("TLS reload failed: {error}", {
              event: "tls-reload-failed",
              error: e.message,
            }),
        );
      } catch (e) {
        log.error("TLS reload failed, keeping the running certificate: {error}", {
          event: "tls-reload-failed",
          error: (e as Error).message,
        });
      }
    },
  };
}

function logFileLimit(log: Logger, files: OpenFileLimit | null, cap: number, asked: number) {
  if (!files) {
    log.warning(
      "open-files limit unknown (no /proc/self/limits, no getrlimit through FFI: under " +
        "Deno, run with --allow-ffi); assuming {assumed}, TCP connections capped at {cap}",
      { event: "descriptor-limit", assumed: UNKNOWN_FILE_LIMIT, cap },
    );
    return;
  }
  const fields = {
    event: "descriptor-limit",
    soft: files.soft,
    hard: files.hard,
    raised: files.raised,
    reserve: descriptorReserve(files.soft),
    cap,
  };
  if (files.soft < files.hard) {
    log.warning(
      "open-files limit {soft} of {hard} ({note}); TCP connections capped at {cap}; " +
        "raise it with LimitNOFILE= in the systemd unit",
      { ...fields, note: files.note },
    );
  } else if (cap < asked) {
    log.warning(
      "open-files limit {soft} leaves room for {cap} TCP connections, fewer than " +
        "tcp.max_connections; raise the hard limit (LimitNOFILE= in the systemd unit)",
      fields,
    );
  } else {
    log.info("open-files limit {soft}; TCP connections capped at {cap}", fields);
  }
}
