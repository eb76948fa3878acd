/**
 * vipless entry point: parse the command line, load the configuration, run.
 * Runs unchanged under Bun and Deno; the runtime adapter is chosen here, once.
 */
import { parseCommandLine, USAGE } from "./cli/args.ts";
import { describeConfig, formatConfigError, loadConfigFile } from "./config/index.ts";
import { detectRuntime } from "./runtime/index.ts";
import { VERSION } from "./version.ts";
import { startService } from "./service/service.ts";
import { runSupervisor, WORKER_ENV } from "./service/supervisor.ts";
import { type ClientDeps, runClient } from "./cli/client.ts";
import { logConfigWarnings } from "./log/config-warnings.ts";
import { setupLogging } from "./log/logging.ts";
import type { Runtime } from "./runtime/types.ts";

const EXIT_USAGE = 2;

async function main(): Promise<void> {
  const rt = await detectRuntime();
  const cmd = parseCommandLine(rt.args(), rt.env);
  switch (cmd.kind) {
    case "help":
      rt.writeStdout(USAGE + "\n");
      return rt.exit(0);
    case "version":
      rt.writeStdout(`vipless ${VERSION} (${rt.name} ${rt.version})\n`);
      return rt.exit(0);
    case "error":
      rt.writeStderr(`vipless: ${cmd.message}\n\n${USAGE}\n`);
      return rt.exit(EXIT_USAGE);
    case "client":
      return rt.exit(await runClient(cmd.command, cmd.target, clientDeps(rt)));
  }
  const loaded = loadConfigFile(cmd.configPath, rt.readTextFile);
  if (!loaded.ok) {
    rt.writeStderr(loaded.error.map((e) => formatConfigError(e) + "\n").join(""));
    return rt.exit(EXIT_USAGE);
  }
  if (cmd.kind === "check-config") {
    for (const w of loaded.warnings) rt.writeStderr(`${cmd.configPath}: warning: ${w}\n`);
    rt.writeStdout(describeConfig(loaded.config, cmd.configPath) + "\n");
    return rt.exit(0);
  }
  const worker = workerNumber(rt.env(WORKER_ENV));
  // Warnings are log events, in the configured format; a supervisor's workers do not
  // repeat what it logged.
  if (worker === null) {
    setupLogging({
      level: cmd.logLevel ?? loaded.config.log.level,
      format: loaded.config.log.format,
      write: (line) => rt.writeStdout(line),
    });
    logConfigWarnings(cmd.configPath, loaded.warnings);
  }
  if (worker === null && loaded.config.workers > 1) {
    if (rt.canSharePorts) return runSupervisor(rt, loaded.config, cmd.logLevel);
    logConfigWarnings(cmd.configPath, [
      `workers: ${loaded.config.workers} needs Bun (${rt.name} cannot spread UDP over processes); running one process`,
    ]);
  }
  try {
    await startService(rt, {
      worker,
      configPath: cmd.configPath,
      config: loaded.config,
      logLevel: cmd.logLevel,
    });
  } catch (e) {
    // A listener that cannot bind (port in use, no permission) is an operator error, not a crash.
    rt.writeStderr(`vipless: cannot start: ${(e as Error).message}\n`);
    rt.exit(1);
  }
}

function clientDeps(rt: Runtime): ClientDeps {
  return {
    readTextFile: rt.readTextFile,
    env: rt.env,
    fetch: (input, init) => fetch(input, init),
    stdout: (t) => rt.writeStdout(t),
    stderr: (t) => rt.writeStderr(t),
  };
}

/** The worker number a supervisor gave this process, or null when it runs alone. */
function workerNumber(v: string | undefined): number | null {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
}

await main();
