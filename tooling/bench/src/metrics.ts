/**
 * The benchmark's results: a flat list of `{ name, system, concurrency, value, unit }`, the shape
 * `bench/results/latest.json` stores, with percentile helpers for the latencies behind them.
 */
import type { System } from "./load-client.js";

export interface Metric {
  readonly name: string;
  readonly system: System;
  readonly concurrency: number;
  readonly value: number;
  readonly unit: string;
}

/** The `p`-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

const round = (value: number) => (Number.isFinite(value) ? Math.round(value * 1000) / 1000 : value);

export class Metrics {
  readonly all: Metric[] = [];

  add(name: string, system: System, concurrency: number, value: number, unit: string): void {
    this.all.push({ name, system, concurrency, value: round(value), unit });
  }

  get(name: string, system: System, concurrency: number): number | undefined {
    return this.all.find((m) => m.name === name && m.system === system && m.concurrency === concurrency)
      ?.value;
  }

  /** Latency percentiles of `samples`, and their overhead over the direct call's (when not direct). */
  addLatencies(prefix: string, system: System, concurrency: number, samples: readonly number[]): void {
    for (const p of [50, 95, 99]) {
      const value = percentile(samples, p);
      this.add(`${prefix}_p${p}_ms`, system, concurrency, value, "ms");
      const direct = this.get(`${prefix}_p${p}_ms`, "direct", concurrency);
      if (system !== "direct" && direct !== undefined) {
        const name = prefix === "latency" ? `overhead_p${p}_ms` : `${prefix}_overhead_p${p}_ms`;
        this.add(name, system, concurrency, value - direct, "ms");
      }
    }
  }
}
