/**
 * Streaming at scale: `streams` concurrent streams, each token `tokenDelayMs` after the last (30
 * tokens/s), each restarted as it ends, one system at a time (they would otherwise share the CPU).
 * The streams start evenly over one stream's length (`tokens` × `tokenDelayMs`, the ramp), so new
 * streams arrive at the steady rate `streams` concurrent streams make (one every length ÷ streams)
 * rather than all within one token interval and then again in lockstep as they end (a burst of
 * openings whose queue, not the path, would decide the time to first token; the two-hop floor
 * itself measured ~36 ms of TTFT overhead at 100 streams that way). After the ramp the scenario
 * runs `seconds` more. Per system: time to first token and its overhead over direct's, the
 * inter-token gap p50/p99 and the p99 as a multiple of direct's, of the streams started after the
 * ramp (all `streams` in flight); tokens per second and CPU time per streamed token of each
 * process on the path over the whole run, read from each process's own `process.cpuUsage()` (from
 * `/proc` for Portkey, which does not answer over IPC).
 */
import { makeLoadClient, type SliceResult } from "./load-client.js";
import { type Metrics, percentile } from "./metrics.js";
import { chatBody } from "./request-bodies.js";
import { cpuReader, type SystemProcess, type Systems } from "./systems.js";

export interface ScalePlan {
  /** Concurrent streams, one scenario each. */
  readonly streams: readonly number[];
  readonly tokens: number;
  readonly tokenDelayMs: number;
  readonly seconds: number;
}

/** A process's own count over IPC where it answers, else `/proc` (all the processes an entry stands for). */
const readCpu = (p: SystemProcess) =>
  p.procCpu === undefined && p.cpuSeconds !== undefined ? p.cpuSeconds() : Promise.resolve(cpuReader(p)());

async function readAll(processes: readonly SystemProcess[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of processes) out.push(await readCpu(p));
  return out;
}

export async function runScalePhase(
  systems: Systems,
  plan: ScalePlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  for (const n of plan.streams) {
    for (const system of systems.list) {
      const name = system.target.system;
      const client = makeLoadClient(system.target, n);
      const body = chatBody(name, {
        stream: true,
        maxTokens: plan.tokens,
        note: `delay=${plan.tokenDelayMs}`,
      });
      const empty = (): SliceResult => ({
        latencies: [],
        ttfts: [],
        gaps: [],
        tokens: 0,
        errors: 0,
        elapsedMs: 0,
      });
      // Streams started after the ramp (timed), and those started during it (counted, not timed).
      const out = empty();
      const ramping = empty();
      // Warm the sockets and the path with a few streams first.
      await client.slice(body, Math.min(n, 8), Math.min(n, 8), 10_000);
      const cpuBefore = await readAll(system.processes);
      const started = performance.now();
      const rampMs = plan.tokens * plan.tokenDelayMs;
      const rampEnd = started + rampMs;
      const deadline = rampEnd + plan.seconds * 1000;
      const worker = async (i: number) => {
        await new Promise((r) => setTimeout(r, (i * rampMs) / n));
        while (performance.now() < deadline) {
          const into = performance.now() < rampEnd ? ramping : out;
          const errors = into.errors;
          await client.one(body, into);
          if (into.errors > errors) return; // a path that refuses streams is not hammered
        }
      };
      await Promise.all(Array.from({ length: n }, (_, i) => worker(i)));
      const elapsedS = (performance.now() - started) / 1000;
      out.tokens += ramping.tokens;
      out.errors += ramping.errors;
      if (out.firstError === undefined && ramping.firstError !== undefined)
        out.firstError = ramping.firstError;
      const cpuAfter = await readAll(system.processes);
      client.close();

      const ttft50 = percentile(out.ttfts, 50);
      const gap50 = percentile(out.gaps, 50);
      const gap99 = percentile(out.gaps, 99);
      const done = out.latencies.length + ramping.latencies.length;
      metrics.add("scale_streams_done", name, n, done, "count");
      metrics.add("scale_tokens_per_s", name, n, out.tokens / elapsedS, "tokens/s");
      metrics.add("scale_token_gap_ms", name, n, plan.tokenDelayMs, "ms");
      metrics.add("scale_errors", name, n, out.errors, "count");
      metrics.add("scale_ttft_p50_ms", name, n, ttft50, "ms");
      metrics.add("scale_gap_p50_ms", name, n, gap50, "ms");
      metrics.add("scale_gap_p99_ms", name, n, gap99, "ms");
      if (name !== "direct") {
        const directTtft = metrics.get("scale_ttft_p50_ms", "direct", n);
        const directGap99 = metrics.get("scale_gap_p99_ms", "direct", n);
        if (directTtft !== undefined)
          metrics.add("scale_ttft_overhead_p50_ms", name, n, ttft50 - directTtft, "ms");
        if (directGap99 !== undefined)
          metrics.add("scale_gap_p99_vs_direct", name, n, gap99 / directGap99, "x");
      }
      let total = 0;
      const perRole: string[] = [];
      for (const [i, p] of system.processes.entries()) {
        const seconds = (cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0);
        total += seconds;
        const ms = out.tokens === 0 ? Number.NaN : (seconds * 1000) / out.tokens;
        metrics.add(`scale_${p.role}_cpu_ms_per_token`, name, n, ms, "ms");
        perRole.push(`${p.role}=${ms.toFixed(3)}`);
      }
      metrics.add(
        "scale_cpu_ms_per_token",
        name,
        n,
        out.tokens === 0 ? Number.NaN : (total * 1000) / out.tokens,
        "ms",
      );
      log(
        `scale n=${n} ${name}: streams=${done} tokens/s=${(out.tokens / elapsedS).toFixed(0)} ` +
          `ttft p50=${ttft50.toFixed(2)} ms gap p50=${gap50.toFixed(2)} p99=${gap99.toFixed(2)} ms ` +
          `cpu ms/token ${perRole.join(" ")} errors=${out.errors}${out.firstError ? ` (${out.firstError.slice(0, 120)})` : ""}`,
      );
    }
  }
}
