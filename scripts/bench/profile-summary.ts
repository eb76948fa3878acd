/**
 * Reading what scripts/bench/profile.ts collects: a CPU profile (.cpuprofile, the
 * Chrome DevTools format both `bun --cpu-prof` and `deno --cpu-prof` write), the GC log
 * of the runtime (V8 `--trace-gc` lines under Deno, JSC `logGC` lines under Bun) and
 * the loop-lag histogram from /metrics. Pure functions of their input, so the numbers
 * a report quotes can be recomputed from the files the run kept.
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds from the previous sample to this one. */
  timeDeltas: number[];
}

/** Maps a line of the bundle (dist/vipless.js) to the source module it came from. */
export type ModuleOf = (url: string, line: number) => string;

/**
 * A ModuleOf from the bundle's text: `bun build` marks each module with a
 * `// src/dir/file.ts` line, so a line belongs to the last such mark above it.
 */
export function bundleModules(text: string, bundleName: string): ModuleOf {
  const marks: Array<[number, string]> = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(lines[i]);
    if (m) marks.push([i, m[1]]);
  }
  return (url, line) => {
    if (!url.endsWith(bundleName)) return url.replace(/^.*\//, "") || "(native)";
    let lo = 0, hi = marks.length - 1, found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid][0] <= line) {
        found = marks[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

export interface SelfTime {
  /** "function (module:line)". */
  key: string;
  samples: number;
  /** Share of the busy (non-idle) samples in the window, %. */
  share: number;
}

export interface ProfileSummary {
  /** Samples in the window, and of those not "(idle)". */
  samples: number;
  busySamples: number;
  /** "(garbage collector)" samples (V8; JSC does not sample its collector). */
  gcSamples: number;
  /** "(program)": native work outside JS (I/O, the runtime's own code). */
  programSamples: number;
  /** Whether the profiler samples an idle thread at all (V8 yes; JSC only samples JS). */
  hasIdle: boolean;
  top: SelfTime[];
  byModule: SelfTime[];
  /** The longest runs of consecutive busy samples: loop turns that held the thread. */
  longestBusy: Array<{ ms: number; atMs: number; top: string[] }>;
}

const IDLE = "(idle)";

/**
 * Self time per function and per module within `window` (ms since the profile's start;
 * the load), GC share and the longest busy stretches. Shares count samples rather than
 * weigh them by their time deltas: JSC takes a sample only while JS runs, so a delta
 * there spans idle time and would inflate whatever ran just before the loop slept.
 */
export function summarize(
  p: CpuProfile,
  moduleOf: ModuleOf,
  window: [number, number] = [0, Infinity],
  limit = 25,
): ProfileSummary {
  const keyOf = new Map<number, string>();
  const moduleKey = new Map<number, string>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    const mod = moduleOf(f.url, f.lineNumber);
    const name = f.functionName || "(anonymous)";
    keyOf.set(n.id, f.url ? `${name} (${mod}:${f.lineNumber + 1})` : name);
    moduleKey.set(n.id, f.url ? mod : name);
  }
  const hasIdle = [...keyOf.values()].includes(IDLE);
  const self = new Map<string, number>();
  const modules = new Map<string, number>();
  let all = 0, busy = 0;
  const stretches: Array<{ ms: number; atMs: number; top: string[] }> = [];
  let run: { start: number; end: number; keys: Map<string, number> } | undefined;
  let at = 0;
  const close = () => {
    if (!run) return;
    const top = [...run.keys].sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([k, n]) => `${k} ×${n}`);
    stretches.push({ ms: run.end - run.start, atMs: run.start, top });
    run = undefined;
  };
  for (let i = 0; i < p.samples.length; i++) {
    at += (p.timeDeltas[i] ?? 0) / 1000;
    if (at < window[0] || at > window[1]) continue;
    all++;
    const key = keyOf.get(p.samples[i]) ?? "?";
    if (key === IDLE) {
      close();
      continue;
    }
    busy++;
    self.set(key, (self.get(key) ?? 0) + 1);
    const mod = moduleKey.get(p.samples[i]) ?? "?";
    modules.set(mod, (modules.get(mod) ?? 0) + 1);
    if (!hasIdle) continue;
    run ??= { start: at, end: at, keys: new Map() };
    run.end = at;
    run.keys.set(key, (run.keys.get(key) ?? 0) + 1);
  }
  close();
  const ranked = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, limit)
      .map(([key, n]) => ({ key, samples: n, share: busy > 0 ? (100 * n) / busy : 0 }));
  return {
    samples: all,
    busySamples: busy,
    gcSamples: self.get("(garbage collector)") ?? 0,
    programSamples: self.get("(program)") ?? 0,
    hasIdle,
    top: ranked(self),
    byModule: ranked(modules),
    longestBusy: stretches.sort((a, b) => b.ms - a.ms).slice(0, 8),
  };
}

export interface GcPause {
  kind: string;
  ms: number;
}

/**
 * Pauses from a GC log, line by line. V8 (--trace-gc) prints one line per collection,
 * `... 1234 ms: Scavenge 12.1 (14.0) -> 11.0 (15.0) MB, pooled: 0 MB, 1.23 / 0.00 ms ...`,
 * whose first figure is the pause. JSC (BUN_JSC_logGC=1) collects concurrently and
 * prints every stop-the-world increment of a cycle as `p=1.23ms`, the cycle's scope
 * (`=> EdenCollection` / `=> FullCollection`) on its START line.
 */
export class GcLog {
  readonly pauses: GcPause[] = [];
  #jscKind = "Eden";

  line(line: string): void {
    const v8 =
      /\d+ ms: (Scavenge|Mark-Compact|Minor Mark-Sweep|Mark-Sweep)[^,]*,.*? ([\d.]+) \/ [\d.]+ ms/
        .exec(line);
    if (v8) {
      this.pauses.push({ kind: v8[1], ms: Number(v8[2]) });
      return;
    }
    if (!line.startsWith("[GC<")) return;
    const scope = /=> (Eden|Full)Collection/.exec(line);
    if (scope) this.#jscKind = scope[1];
    for (const m of line.matchAll(/\bp=([\d.]+)ms/g)) {
      this.pauses.push({ kind: this.#jscKind, ms: Number(m[1]) });
    }
  }
}

export interface GcTotals {
  count: number;
  ms: number;
  max: number;
  byKind: Record<string, { count: number; ms: number; max: number }>;
}

export function gcTotals(pauses: GcPause[]): GcTotals {
  const t: GcTotals = { count: 0, ms: 0, max: 0, byKind: {} };
  for (const p of pauses) {
    t.count++;
    t.ms += p.ms;
    t.max = Math.max(t.max, p.ms);
    const k = (t.byKind[p.kind] ??= { count: 0, ms: 0, max: 0 });
    k.count++;
    k.ms += p.ms;
    k.max = Math.max(k.max, p.ms);
  }
  return t;
}

/** Cumulative buckets of one histogram from /metrics text: le (seconds) -> count. */
export function histogramBuckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    out.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Per-bucket counts of `after - before` (not cumulative), for one table row each. */
export function bucketDelta(
  before: Map<number, number>,
  after: Map<number, number>,
): Array<{ le: number; count: number }> {
  const les = [...after.keys()].sort((a, b) => a - b);
  let prev = 0;
  return les.map((le) => {
    const cum = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    const count = cum - prev;
    prev = cum;
    return { le, count };
  });
}

/** CPU of one thread, seconds: user and system (kernel: syscalls, softirq work). */
export interface ThreadCpu {
  name: string;
  user: number;
  system: number;
  /**
   * Seconds runnable but waiting for a core (/proc/.../schedstat, second field): on a
   * machine shared with the load generators, time the thread lost to them.
   */
  runQueue: number;
}

/** USER_HZ, the unit of utime/stime in /proc (100 on every Linux ABI in use). */
const TICKS = 100;

/** A /proc/PID/task/TID/stat line (the name may hold spaces) and its schedstat line. */
export function threadCpu(stat: string, schedstat = ""): ThreadCpu {
  const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const waitNs = Number(schedstat.split(" ")[1] ?? 0);
  return {
    name,
    user: Number(rest[11]) / TICKS,
    system: Number(rest[12]) / TICKS,
    runQueue: Number.isFinite(waitNs) ? waitNs / 1e9 : 0,
  };
}

/**
 * Thread CPU growth between two readings, summed by thread name with digits folded
 * ("HeapHelper 3" and "HeapHelper 4" are one kind): which share the JS thread, the
 * collector's helper threads and the runtime's I/O threads took. Largest first.
 */
export function threadDelta(
  before: Map<number, ThreadCpu>,
  after: Map<number, ThreadCpu>,
): ThreadCpu[] {
  const sum = new Map<string, ThreadCpu>();
  for (const [tid, a] of after) {
    const b = before.get(tid);
    const name = a.name.replace(/\d+/g, "N");
    const s = sum.get(name) ?? { name, user: 0, system: 0, runQueue: 0 };
    s.user += a.user - (b?.user ?? 0);
    s.system += a.system - (b?.system ?? 0);
    s.runQueue += a.runQueue - (b?.runQueue ?? 0);
    sum.set(name, s);
  }
  return [...sum.values()].sort((x, y) => y.user + y.system - (x.user + x.system));
}
