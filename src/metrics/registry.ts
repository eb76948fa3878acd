/**
 * A small Prometheus text-format registry. Counters are incremented on the hot path,
 * so a series is one number in a Map keyed by its rendered label set; gauges are read
 * from callbacks at scrape time so that the owner of a fact stays its only writer.
 */

export type Labels = Record<string, string>;

/** On the hot path (every Counter.inc): a plain loop, and no regex for plain values. */
function renderLabels(labels: Labels | undefined): string {
  if (!labels) return "";
  let out = "";
  for (const k in labels) out += `${out ? "," : "{"}${k}="${escapeLabel(labels[k]!)}"`;
  return out ? out + "}" : "";
}

const NEEDS_ESCAPE = /[\\\n"]/;

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

export class Counter implements Metric {
  readonly #series = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels?: Labels, by = 1): void {
    const key = renderLabels(labels);
    this.#series.set(key, (this.#series.get(key) ?? 0) + by);
  }
  get(labels?: Labels): number {
    return this.#series.get(renderLabels(labels)) ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const [labels, v] of this.#series) out.push(`${this.name}${labels} ${formatNumber(v)}`);
  }
}

/**
 * A gauge (or a counter kept elsewhere) whose samples come from a callback at scrape
 * time, so that the owner of a fact stays its only writer.
 */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly sample: () => Array<[Labels | undefined, number]> | number,
    readonly type: "gauge" | "counter" = "gauge",
  ) {}
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    const s = this.sample();
    const samples = typeof s === "number" ? [[undefined, s] as [undefined, number]] : s;
    for (const [labels, v] of samples) {
      out.push(`${this.name}${renderLabels(labels)} ${formatNumber(v)}`);
    }
  }
}

/** Cumulative bucket counts ending with +Inf, as a histogram owner reports them. */
export interface HistogramSample {
  labels: Labels;
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/** A histogram whose series are read from their owner at scrape time. */
export class HistogramView implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly sample: () => HistogramSample[],
  ) {}
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.sample()) {
      const key = renderLabels(s.labels);
      const inner = key ? key.slice(1, -1) + "," : "";
      for (const b of s.buckets) {
        out.push(`${this.name}_bucket{${inner}le="${formatNumber(b.le)}"} ${b.count}`);
      }
      out.push(`${this.name}_sum${key} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${key} ${s.count}`);
    }
  }
}

export class Histogram implements Metric {
  readonly #series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels?: Labels): void {
    const key = renderLabels(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const [key, s] of this.#series) {
      const inner = key ? key.slice(1, -1) + "," : "";
      this.buckets.forEach((b, i) => {
        out.push(`${this.name}_bucket{${inner}le="${formatNumber(b)}"} ${s.counts[i]}`);
      });
      out.push(`${this.name}_bucket{${inner}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${key} ${formatNumber(s.sum)}`);
      out.push(`${this.name}_count${key} ${s.count}`);
    }
  }
}

export class Registry {
  readonly #metrics: Metric[] = [];
  add<M extends Metric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  /** A series read at scrape time; `type` "counter" for a count its owner keeps. */
  gauge(name: string, help: string, sample: Gauge["sample"], type?: Gauge["type"]): Gauge {
    return this.add(new Gauge(name, help, sample, type));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** The Prometheus text exposition format, version 0.0.4. */
  render(): string {
    const out: string[] = [];
    for (const m of this.#metrics) m.render(out);
    return out.join("\n") + "\n";
  }
}
