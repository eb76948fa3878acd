/**
 * `workers: N`: this process starts N copies of itself that share the SIP listeners
 * (SO_REUSEPORT), forwards signals to them, restarts one that dies, and stops them all
 * on SIGTERM/SIGINT. It opens no socket itself.
 */
import type { Config } from "../config/index.ts";
import { logger, setupLogging } from "../log/logging.ts";
import type { ChildHandle, Runtime, Signal } from "../runtime/types.ts";

/** The environment variable that tells a worker its number. */
export const WORKER_ENV = "VIPLESS_WORKER";
const STOP_DEADLINE_MS = 1800;
const RESTART_DELAY_MS = 1000;

export function runSupervisor(rt: Runtime, config: Config, logLevel: string | null): void {
  setupLogging({
    level: (logLevel ?? config.log.level) as Config["log"]["level"],
    format: config.log.format,
    write: (line) => rt.writeStdout(line),
  });
  const log = logger("supervisor");
  const children = new Map<number, ChildHandle>();
  let stopping = false;

  function start(k: number): void {
    const child = rt.spawnSelf({ [WORKER_ENV]: String(k) });
    children.set(k, child);
    log.info("worker {worker} started (pid {pid})", {
      event: "worker-started",
      worker: k,
      pid: child.pid,
    });
    void child.exited.then((code) => {
      if (children.get(k) === child) children.delete(k);
      if (stopping) return;
      log.error("worker {worker} exited ({code}); restarting it", {
        event: "worker-exited",
        worker: k,
        code,
      });
      rt.setTimer(RESTART_DELAY_MS, () => {
        if (!stopping) start(k);
      });
    });
  }

  const forward = (signal: Signal) => () => {
    for (const c of children.values()) c.kill(signal);
  };
  const stop = (signal: Signal) => () => {
    // A second SIGTERM: the workers, draining, exit at once.
    if (stopping) return forward(signal)();
    stopping = true;
    log.info("{signal} received: stopping {n} workers", {
      event: "signal",
      signal,
      n: children.size,
    });
    for (const c of children.values()) c.kill(signal);
    const all = Promise.all([...children.values()].map((c) => c.exited));
    // Each worker drains first (drain.timeout), then stops.
    rt.setTimer(config.drain.timeout + STOP_DEADLINE_MS, () => {
      for (const c of children.values()) c.kill("SIGKILL");
      rt.exit(0);
    });
    void all.then(() => rt.exit(0));
  };
  rt.onSignal("SIGTERM", stop("SIGTERM"));
  rt.onSignal("SIGINT", stop("SIGINT"));
  rt.onSignal("SIGHUP", forward("SIGHUP"));
  for (let k = 0; k < config.workers; k++) start(k);
}
