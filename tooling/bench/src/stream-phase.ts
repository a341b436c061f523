/**
 * Streams of `tokens` tokens, the mock waiting a fixed delay between tokens, the systems
 * interleaved. Time to first token and the gaps between tokens, each against direct's.
 */
import { makeLoadClient } from "./load-client.js";
import { type Metrics, percentile } from "./metrics.js";
import { chatBody } from "./request-bodies.js";
import type { Systems } from "./systems.js";

export interface StreamPlan {
  readonly concurrencies: readonly number[];
  readonly rounds: number;
  readonly streamsPerSlice: (concurrency: number) => number;
  /** Short streams (two tokens) each system serves before a concurrency is measured. */
  readonly warmup: (concurrency: number) => number;
  readonly tokens: number;
  readonly maxSliceMs: number;
}

export async function runStreamPhase(
  systems: Systems,
  plan: StreamPlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  for (const c of plan.concurrencies) {
    const runs = systems.list.map((s) => ({
      system: s.target.system,
      client: makeLoadClient(s.target, c),
      body: chatBody(s.target.system, { stream: true, maxTokens: plan.tokens }),
      ttfts: [] as number[],
      gaps: [] as number[],
      errors: 0,
      firstError: undefined as string | undefined,
    }));
    // Every path's per-stream code (open, first chunk, last chunk) compiled before it is timed,
    // as the unary phase's warm-up does for a relay: short streams, so it costs little time.
    for (const run of runs) {
      const short = chatBody(run.system, { stream: true, maxTokens: 2 });
      await run.client.slice(short, c, plan.warmup(c), plan.maxSliceMs);
    }
    for (let round = 0; round < plan.rounds; round++) {
      for (const run of runs) {
        const result = await run.client.slice(run.body, c, plan.streamsPerSlice(c), plan.maxSliceMs);
        run.ttfts.push(...result.ttfts);
        run.gaps.push(...result.gaps);
        run.errors += result.errors;
        run.firstError ??= result.firstError;
      }
    }
    const directGap = percentile(runs[0]?.gaps ?? [], 50);
    for (const run of runs) {
      metrics.addLatencies("ttft", run.system, c, run.ttfts);
      const gap = percentile(run.gaps, 50);
      metrics.add("inter_token_p50_ms", run.system, c, gap, "ms");
      if (run.system !== "direct")
        metrics.add("inter_token_overhead_p50_ms", run.system, c, gap - directGap, "ms");
      metrics.add("stream_errors", run.system, c, run.errors, "count");
      log(
        `stream c=${c} ${run.system}: streams=${run.ttfts.length} ttft p50=${percentile(run.ttfts, 50).toFixed(2)} ms ` +
          `gap p50=${gap.toFixed(2)} ms errors=${run.errors}${run.firstError ? ` (${run.firstError})` : ""}`,
      );
      run.client.close();
    }
  }
}
