/**
 * Prompt size: unary calls at concurrency 1 with a short prompt and with a long one (the same
 * tier, `long-context` on the Pocket AI path, so only the prompt differs), interleaved per path.
 * Per path and prompt: CPU milliseconds per relay of each process and latency p50; then each
 * process's CPU at the long prompt as a multiple of its CPU at the short one. A process whose cost
 * is flat in prompt size stays near 1×; the floor shows what reading, hashing and signing the
 * longer body costs by itself.
 */
import { makeLoadClient } from "./load-client.js";
import { type Metrics, percentile } from "./metrics.js";
import { cpuMeter } from "./proc-stats.js";
import { chatBody } from "./request-bodies.js";
import { cpuReader, type Systems } from "./systems.js";

export interface PromptPlan {
  /** Characters of the long prompt: within the `long-context` tier's 3,072 input tokens. */
  readonly longChars: number;
  readonly rounds: number;
  /** Requests per path, prompt and round. */
  readonly perSlice: number;
  readonly maxSliceMs: number;
  /** Requests per path and prompt before it is measured (hot code compiled, as in the unary phase). */
  readonly warmup: number;
}

/** The Pocket AI path's model for this phase: the tier that admits the long prompt. */
const POCKET_MODEL = "llama-2-13b:long-context";

/**
 * Plain mixed prose (words, punctuation, numbers, a few accented and non-Latin words), repeated to
 * `chars`: 9,000 characters are 2,416 Llama 2 tokens.
 */
export function longPrompt(chars: number): string {
  const text =
    "The relay network carries each request to a node that serves the model, and the gateway checks " +
    "every answer before the client sees it. Prices are integers (750 micro-USD a call); a café in " +
    "Zürich, a naïve résumé, 東京 and Москва are words too. ";
  return text.repeat(Math.ceil(chars / text.length)).slice(0, chars);
}

export async function runPromptPhase(
  systems: Systems,
  plan: PromptPlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  const prompts = [
    { label: "short", content: "Say hello to the benchmark" },
    { label: "long", content: longPrompt(plan.longChars) },
  ];
  const runs = systems.list.flatMap((s) =>
    prompts.map((prompt) => ({
      system: s,
      prompt,
      client: makeLoadClient(s.target, 1),
      body: chatBody(s.target.system, {
        stream: false,
        maxTokens: 16,
        content: prompt.content,
        ...(s.target.system === "pocket" ? { model: POCKET_MODEL } : {}),
      }),
      latencies: [] as number[],
      cpu: [] as number[],
      errors: 0,
      firstError: undefined as string | undefined,
    })),
  );
  for (const run of runs) await run.client.slice(run.body, 1, plan.warmup, plan.maxSliceMs);
  for (let round = 0; round < plan.rounds; round++) {
    for (const run of runs) {
      const cpu = cpuMeter(run.system.processes.map(cpuReader));
      const result = await run.client.slice(run.body, 1, plan.perSlice, plan.maxSliceMs);
      const used = cpu();
      used.forEach((seconds, i) => {
        run.cpu[i] = (run.cpu[i] ?? 0) + seconds;
      });
      run.latencies.push(...result.latencies);
      run.errors += result.errors;
      run.firstError ??= result.firstError;
    }
  }
  for (const run of runs) {
    const system = run.system.target.system;
    const chars = run.prompt.content.length;
    const n = run.latencies.length;
    metrics.add("prompt_latency_p50_ms", system, chars, percentile(run.latencies, 50), "ms");
    metrics.add("prompt_errors", system, chars, run.errors, "count");
    run.system.processes.forEach((proc, i) => {
      const ms = n === 0 ? Number.NaN : ((run.cpu[i] ?? 0) * 1000) / n;
      metrics.add(`prompt_${proc.role}_cpu_ms_per_relay`, system, chars, ms, "ms");
    });
    log(
      `prompt ${run.prompt.label} (${chars} chars) ${system}: n=${n} p50=${percentile(run.latencies, 50).toFixed(2)} ms ` +
        `CPU ms/relay ${run.cpu.map((s) => ((s * 1000) / Math.max(1, n)).toFixed(3)).join(" + ")} errors=${run.errors}` +
        `${run.firstError ? ` (${run.firstError})` : ""}`,
    );
    run.client.close();
  }
}
