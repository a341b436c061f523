/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format for `GET /metrics`. Kept here instead of a client library because apps need
 * only these three kinds and the hot path must not allocate per observation beyond a map lookup.
 */
type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  const n = keys.length;
  if (n === 0) return "";
  // A series has a few labels: sorted in place (no work array, as `sort` would allocate per call).
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  let key = "";
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (i > 0) key += ",";
    key += `${k}="${escapeLabel(labels[k]!)}"`;
  }
  return key;
}

/** Characters a label value escapes. */
const ESCAPED = /[\\\n"]/;

function escapeLabel(value: string): string {
  if (!ESCAPED.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

interface Metric {
  render(): string;
}

/** A monotonically increasing count, e.g. relays served by service and outcome. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k === "" ? "" : `{${k}}`} ${v}`);
    return lines.join("\n");
  }
}

/** A value that goes up and down, e.g. queue depth. */
export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  add(labels: Labels, by: number): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Drops every series: for a gauge rebuilt from live state at each scrape, so gone things go. */
  clear(): void {
    this.values.clear();
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k === "" ? "" : `{${k}}`} ${v}`);
    return lines.join("\n");
  }
}

/** Latency buckets in seconds, from 1 ms to 2 minutes. */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** A distribution of observations in fixed buckets, e.g. backend latency in seconds. */
export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k === "" ? "" : ",";
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${k}${sep}le="${b}"} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket{${k}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k === "" ? "" : `{${k}}`} ${s.sum}`);
      lines.push(`${this.name}_count${k === "" ? "" : `{${k}}`} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** The set of metrics one app exposes. */
export class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  private readonly beforeRenders: (() => void)[] = [];
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  /** Runs `update` before every render: for gauges read from state at scrape time. */
  beforeRender(update: () => void): void {
    this.beforeRenders.push(update);
  }
  /** The Prometheus text exposition of every metric. */
  render(): string {
    for (const update of this.beforeRenders) update();
    return `${this.metrics.map((m) => m.render()).join("\n")}\n`;
  }
  private add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
}

/**
 * The expositions of several processes of one app (a node's workers and its primary) as one: each
 * metric's HELP and TYPE once, then every process's samples of it, each with a `label` naming the
 * process, so that one scrape sees them all and no two series collide.
 */
export function mergeExpositions(
  parts: readonly { readonly process: string; readonly text: string }[],
  label = "process",
): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const { process, text } of parts) {
    const value = escapeLabel(process);
    let family: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const comment = /^# (HELP|TYPE) (\S+) /.exec(line);
      if (comment !== null) {
        const name = comment[2] as string;
        family = families.get(name);
        if (family === undefined) {
          family = { head: [], samples: [] };
          families.set(name, family);
        }
        if (!family.head.some((h) => h.startsWith(`# ${comment[1]} `))) family.head.push(line);
        continue;
      }
      if (line.startsWith("#") || family === undefined) continue;
      const brace = line.indexOf("{");
      const space = line.indexOf(" ");
      family.samples.push(
        brace !== -1 && brace < space
          ? `${line.slice(0, brace + 1)}${label}="${value}",${line.slice(brace + 1)}`
          : `${line.slice(0, space)}{${label}="${value}"}${line.slice(space)}`,
      );
    }
  }
  return `${[...families.values()].map((f) => [...f.head, ...f.samples].join("\n")).join("\n")}\n`;
}
