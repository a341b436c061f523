/**
 * Unary calls at each concurrency, the systems interleaved (A B C A B C …) so that a slow moment
 * of the machine hits them alike. Per system: latency percentiles and their overhead over direct,
 * requests per second, CPU seconds per 1,000 requests and peak RSS of each of its processes.
 */
import { makeLoadClient } from "./load-client.js";
import { type Metrics, percentile } from "./metrics.js";
import { cpuMeter, peakRssMb, resetPeakRss } from "./proc-stats.js";
import { chatBody } from "./request-bodies.js";
import { cpuReader, type Systems } from "./systems.js";

export interface UnaryPlan {
  readonly concurrencies: readonly number[];
  readonly rounds: number;
  /** Requests per system per round, at concurrency c. */
  readonly perSlice: (concurrency: number) => number;
  readonly maxSliceMs: number;
  /**
   * Requests each system serves at a concurrency before it is measured, so that every process runs
   * its hot code compiled (V8 optimizes a function only after many calls): a server's steady
   * state, not its first seconds.
   */
  readonly warmup: (concurrency: number) => number;
}

export async function runUnaryPhase(
  systems: Systems,
  plan: UnaryPlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  for (const c of plan.concurrencies) {
    const runs = systems.list.map((s) => ({
      system: s,
      client: makeLoadClient(s.target, c),
      body: chatBody(s.target.system, { stream: false, maxTokens: 16 }),
      latencies: [] as number[],
      elapsedMs: 0,
      errors: 0,
      firstError: undefined as string | undefined,
    }));
    for (const run of runs) await run.client.slice(run.body, c, plan.warmup(c), plan.maxSliceMs);
    const pids = runs.flatMap((r) => r.system.processes.map((p) => p.pid));
    for (const pid of pids) resetPeakRss(pid);
    const cpu = cpuMeter(runs.flatMap((r) => r.system.processes.map(cpuReader)));
    for (let round = 0; round < plan.rounds; round++) {
      for (const run of runs) {
        const result = await run.client.slice(run.body, c, plan.perSlice(c), plan.maxSliceMs);
        run.latencies.push(...result.latencies);
        run.elapsedMs += result.elapsedMs;
        run.errors += result.errors;
        run.firstError ??= result.firstError;
      }
    }
    const cpuUsed = cpu();
    let pidIndex = 0;
    for (const run of runs) {
      const system = run.system.target.system;
      const n = run.latencies.length;
      metrics.addLatencies("latency", system, c, run.latencies);
      metrics.add("rps", system, c, n / (run.elapsedMs / 1000), "req/s");
      metrics.add("errors", system, c, run.errors, "count");
      let total = 0;
      for (const [i, proc] of run.system.processes.entries()) {
        const seconds = cpuUsed[pidIndex++] ?? 0;
        total += seconds;
        const prefix = i === 0 ? "" : `${proc.role}_`;
        if (i > 0 || run.system.processes.length > 1)
          metrics.add(`${proc.role}_cpu_s_per_1k`, system, c, (seconds * 1000) / n, "s");
        metrics.add(`${prefix}peak_rss_mb`, system, c, peakRssMb(proc.pid), "MB");
      }
      metrics.add("cpu_s_per_1k", system, c, (total * 1000) / n, "s");
      log(
        `unary c=${c} ${system}: n=${n} p50=${percentile(run.latencies, 50).toFixed(2)} ms p99=${percentile(run.latencies, 99).toFixed(2)} ms ` +
          `rps=${(n / (run.elapsedMs / 1000)).toFixed(0)} errors=${run.errors}${run.firstError ? ` (${run.firstError})` : ""}`,
      );
      run.client.close();
    }
  }
}
