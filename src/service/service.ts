/**
 * The running vipless service: wires the configuration, logging, metrics, SIP
 * transport, the SIP core and the HTTP server together, and handles signals
 * (SIGTERM/SIGINT stop, SIGHUP reloads the configuration).
 */
import type { LogLevel } from "@logtape/logtape";
import type { Config } from "../config/index.ts";
import { formatConfigError, loadConfigFile } from "../config/index.ts";
import { createHttpApp } from "../http/app.ts";
import { logger, setupLogging } from "../log/logging.ts";
import { logConfigWarnings } from "../log/config-warnings.ts";
import type { HttpServer, Runtime } from "../runtime/types.ts";
import type { OpenedListener } from "../transport/types.ts";
import { VERSION } from "../version.ts";
import { createServiceMetrics } from "./metrics.ts";
import { createSipCore, type SipCore } from "./sip-core.ts";
import { registerCoreMetrics, registerProtectMetrics } from "./core-metrics.ts";
import { setUpTransport } from "./transport-setup.ts";
import { waitForDrain } from "./drain.ts";
import { maintenanceAction } from "./maintenance-action.ts";
import { statusDocument } from "./status.ts";
import { describeListenFailure, explainBindError } from "./listen-failure.ts";

export interface ServiceOptions {
  configPath: string;
  config: Config;
  /** From --log-level; overrides log.level in the file, also across reloads. */
  logLevel: LogLevel | null;
  /** With `workers`: this worker's number (listeners shared, HTTP on worker 0 only). */
  worker?: number | null;
}

/** How long a stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 1500;

export interface RunningService {
  readonly listeners: OpenedListener[];
  readonly http: HttpServer | null;
  reload(): boolean;
  stop(): Promise<void>;
}

export async function startService(rt: Runtime, opts: ServiceOptions): Promise<RunningService> {
  let config = opts.config;
  const applyLogging = (c: Config) =>
    setupLogging({
      level: opts.logLevel ?? c.log.level,
      format: c.log.format,
      write: (line) => rt.writeStdout(line),
    });
  applyLogging(config);
  const log = logger("service");
  const startedAtMs = rt.now();
  const metrics = createServiceMetrics(rt, startedAtMs);
  log.info("configuration {path} loaded", { event: "config-loaded", path: opts.configPath });

  let core: SipCore | null = null;
  const setup = await setUpTransport(rt, config, metrics, logger("transport"), () => core!);
  const transport = setup.transport;
  core = createSipCore({ rt, config, metrics, transport, log: logger("sip") });

  registerCoreMetrics(metrics, core, transport);
  registerProtectMetrics(metrics, setup, () => rt.monotonic());

  let listeners: OpenedListener[];
  try {
    listeners = await transport.listen(config.listen, (opts.worker ?? null) !== null);
  } catch (e) {
    transport.close();
    throw new Error(await describeListenFailure(rt, config.listen, e as Error));
  }
  core.start(listeners);
  for (const l of listeners) {
    log.info("listening for SIP on {transport}://{host}:{port}", {
      event: "listener-opened",
      ...l,
    });
  }

  const app = createHttpApp({
    version: VERSION,
    runtime: rt.name,
    startedAtMs,
    now: () => rt.now(),
    ready: () => core!.ready(),
    status: () =>
      statusDocument({
        runtime: rt.name,
        listeners,
        config,
        pairs: core!.pairsStatus(),
        probeRtt: core!.registry.probeRtt(),
      }),
    metrics: () => metrics.registry.render(),
    adminToken: () => (config.http.token_env ? rt.env(config.http.token_env) || null : null),
    switchover: (pair, force) => core!.switchover(pair, force),
    maintenance: maintenanceAction(core, log),
  });
  // With workers, only worker 0 serves HTTP: the port cannot be shared usefully (a
  // scrape would reach a random worker), and worker 0's view stands for the process.
  const serveHttp = (opts.worker ?? 0) === 0;
  let http: HttpServer | null = null;
  if (serveHttp) {
    try {
      http = await rt.serveHttp(config.http.listen, app.fetch);
    } catch (e) {
      transport.close();
      throw new Error(
        `HTTP listener http://${
          formatHostPort(config.http.listen.host, config.http.listen.port)
        }: ${explainBindError(e as Error)}`,
      );
    }
    log.info("HTTP on {host}:{port}", {
      event: "listener-opened",
      transport: "http",
      ...http.local,
    });
  }

  function reload(): boolean {
    const loaded = loadConfigFile(opts.configPath, rt.readTextFile);
    if (!loaded.ok) {
      metrics.reloaded("rejected");
      const errors = loaded.error.map(formatConfigError);
      log.error("configuration reload rejected, keeping the running one: {errors}", {
        event: "config-reload-rejected",
        path: opts.configPath,
        errors,
      });
      return false;
    }
    const next = loaded.config;
    // Against the configuration the sockets were opened with, not the last file read:
    // a second reload of a changed file still needs the restart, an undone change not.
    const needRestart = restartOnlyChanges(opts.config, next);
    config = next;
    applyLogging(config);
    core!.reconfigure(config);
    setup.reconfigure(config);
    metrics.reloaded("applied");
    log.info("configuration {path} reloaded", {
      event: "config-reloaded",
      path: opts.configPath,
      needs_restart: needRestart,
    });
    logConfigWarnings(opts.configPath, loaded.warnings);
    if (needRestart.length > 0) {
      log.warning("{keys} changed; these take effect after a restart", {
        event: "config-restart-needed",
        keys: needRestart,
      });
    }
    return true;
  }

  let stopping: Promise<void> | null = null;
  function stop(): Promise<void> {
    stopping ??= (async () => {
      log.info("stopping", { event: "stopping" });
      core!.stop();
      transport.close();
      await Promise.race([
        http?.stop(),
        new Promise((r) => rt.setTimer(STOP_DEADLINE_MS, () => r(undefined))),
      ]);
      log.info("stopped", { event: "stopped" });
    })();
    return stopping;
  }

  // The first SIGTERM drains (drain.ts), then stops; a second one exits at once.
  let draining = false;
  const onStopSignal = (signal: string) => () => {
    log.info("{signal} received", { event: "signal", signal });
    if (draining) return rt.exit(0);
    draining = true;
    const timeout = config.drain.timeout;
    // Whatever happens, the process is gone within the deadline.
    rt.setTimer(timeout + STOP_DEADLINE_MS + 300, () => rt.exit(0));
    core!.drain();
    log.info("draining: new dialogs get 503 for up to {timeout_ms} ms", {
      event: "draining",
      timeout_ms: timeout,
      transactions: core!.busyTransactions(),
    });
    void waitForDrain(rt, () => core!.busyTransactions(), timeout).then((r) => {
      log.info("drained in {waited_ms} ms; {left} transactions left", {
        event: "drained",
        waited_ms: Math.round(r.waitedMs),
        left: r.left,
      });
      return stop();
    }).then(() => rt.exit(0));
  };
  rt.onSignal("SIGTERM", onStopSignal("SIGTERM"));
  rt.onSignal("SIGINT", onStopSignal("SIGINT"));
  rt.onSignal("SIGHUP", () => {
    log.info("SIGHUP received: reloading {path}", {
      event: "signal",
      signal: "SIGHUP",
      path: opts.configPath,
    });
    reload();
  });

  return { listeners, http, reload, stop };
}

/** Keys whose change needs new sockets: a reload logs them instead of rebinding. */
function restartOnlyChanges(a: Config, b: Config): string[] {
  const out: string[] = [];
  if (JSON.stringify(a.listen) !== JSON.stringify(b.listen)) out.push("listen");
  if (JSON.stringify(a.http.listen) !== JSON.stringify(b.http.listen)) out.push("http.listen");
  if (a.sip.max_message_bytes !== b.sip.max_message_bytes) out.push("sip.max_message_bytes");
  if (a.sip.udp_buffer_bytes !== b.sip.udp_buffer_bytes) out.push("sip.udp_buffer_bytes");
  if (a.workers !== b.workers) out.push("workers");
  return out;
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
