/**
 * Child processes of the benchmark. Every one is started in its own process group
 * (so Kamailio's workers go with it) and registered, so that an error, Ctrl-C or a
 * normal exit stops all of them: a benchmark must not leave load generators behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const live = new Set<Child>();

/** A child process with the tail of its output kept for error messages. */
export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly startedAt = Date.now();
  #tail = "";
  #waiters: Array<() => void> = [];
  #lineListeners: Array<(line: string) => void> = [];

  /** `cwd` also receives `<label>.log` with the tail of the output when it exits. */
  constructor(readonly label: string, cmd: string, args: string[], readonly cwd?: string) {
    this.proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], cwd, detached: true });
    const keep = (chunk: Buffer | string) => {
      this.#tail = (this.#tail + chunk.toString()).slice(-8000);
      for (const w of this.#waiters.splice(0)) w();
    };
    this.proc.stdout?.on("data", keep);
    this.proc.stderr?.on("data", keep);
    // Whole lines for onLine(): stdout and stderr each keep their own partial line.
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let partial = "";
      stream?.on("data", (chunk: Buffer | string) => {
        if (this.#lineListeners.length === 0) return;
        const lines = (partial + chunk.toString()).split("\n");
        partial = lines.pop() ?? "";
        // A runaway line without a newline must not grow without bound.
        if (partial.length > 65_536) partial = "";
        for (const line of lines) for (const l of this.#lineListeners) l(line);
      });
    }
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (code) => {
        live.delete(this);
        if (cwd && this.#tail) writeFileSync(join(cwd, `${label}.log`), this.#tail);
        resolve(code);
      });
      this.proc.on("error", (e) => {
        keep(`\n${e.message}`);
        live.delete(this);
        resolve(null);
      });
    });
  }

  /**
   * Calls `listener` with every complete output line from now on (the tail keeps only
   * 8,000 characters; a long run's events must all be seen). Attach it right after the
   * constructor, in the same tick, and no line is missed.
   */
  onLine(listener: (line: string) => void): void {
    this.#lineListeners.push(listener);
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null && this.pid > 0;
  }

  get tail(): string {
    return this.#tail.trim();
  }

  /** Waits (bounded) until the output matches `re`; false on timeout or exit. */
  async waitForOutput(re: RegExp, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!re.test(this.#tail)) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return true;
  }

  /** Sends a signal to the whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      // already gone
    }
  }

  /** SIGTERM to the group, SIGKILL if it is still there after 3 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.signal("SIGTERM");
    if ((await within(this.exited, 3000)) === undefined) {
      this.signal("SIGKILL");
      await within(this.exited, 2000);
    }
    // Workers of a group whose leader exited (Kamailio) must not outlive it.
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // the group is empty
    }
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
}

/** Kills what is left at exit and on Ctrl-C / SIGTERM (then exits with 130 / 143). */
export function installCleanup(): void {
  const killNow = () => {
    for (const c of live) {
      try {
        process.kill(-c.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };
  process.on("exit", killNow);
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(sig, () => {
      console.error(`\nbench: ${sig}, stopping every process it started`);
      stopAll().finally(() => process.exit(code));
    });
  }
}
