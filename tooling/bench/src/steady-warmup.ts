/**
 * Brings every path to its steady state before any phase measures it: unary calls in chunks until
 * the path's CPU per request stops falling (a chunk no more than 5% below the best one, twice in a
 * row, past a minimum), then short streams the same way.
 *
 * A process's CPU per request falls for thousands of requests after it starts (V8 compiles a
 * function only after many calls, and a path with more code needs more of them): measured on the
 * 2-core machine, the Pocket AI path at concurrency 1 cost 3.5 ms per relay over its first
 * thousand relays and settled near 1.9 ms from about the 3,000th on, while the floor's few functions
 * settle within a few hundred. The per-phase warm-ups alone (500 requests, capped at 1.5 s in
 * the quick plan) measured Pocket's code half-compiled; a server that has run for a minute does
 * not cost that.
 */
import { makeLoadClient } from "./load-client.js";
import type { Metrics } from "./metrics.js";
import { chatBody } from "./request-bodies.js";
import { cpuReader, type Systems } from "./systems.js";

export interface SteadyPlan {
  /** Concurrency of the warm-up calls (a higher one gets more calls done per second). */
  readonly concurrency: number;
  /** Requests per chunk: the unit whose CPU per request is compared. */
  readonly chunk: number;
  /** At least this many requests, then until the plateau, at most `maxRequests`. */
  readonly minRequests: number;
  readonly maxRequests: number;
  /** Then short (two-token) streams the same way, for the per-stream code. */
  readonly streamChunk: number;
  readonly minStreams: number;
  readonly maxStreams: number;
  /** Longest one chunk may take (a stuck path still ends its warm-up). */
  readonly maxChunkMs: number;
}

/** A chunk within this share of the best one so far is no longer an improvement. */
const IMPROVEMENT = 0.05;
/** Chunks in a row without improvement that make a plateau. */
const PLATEAU_CHUNKS = 2;

/** One kind of call in chunks until its CPU per call stops falling (or `maxCalls`). */
async function untilSteady(
  client: ReturnType<typeof makeLoadClient>,
  readers: readonly (() => number)[],
  body: string,
  plan: SteadyPlan,
  limits: { readonly chunk: number; readonly minCalls: number; readonly maxCalls: number },
) {
  const perChunk: number[] = [];
  let best = Number.POSITIVE_INFINITY;
  let flat = 0;
  let calls = 0;
  let errors = 0;
  while (calls < limits.maxCalls) {
    const before = readers.map((read) => read());
    const result = await client.slice(body, plan.concurrency, limits.chunk, plan.maxChunkMs);
    const spent = readers.reduce((sum, read, i) => sum + read() - (before[i] ?? 0), 0);
    const served = result.latencies.length;
    calls += served + result.errors;
    errors += result.errors;
    if (served === 0) break;
    const msPerCall = (spent * 1000) / served;
    perChunk.push(msPerCall);
    if (msPerCall < best * (1 - IMPROVEMENT)) flat = 0;
    else flat += 1;
    best = Math.min(best, msPerCall);
    if (calls >= limits.minCalls && flat >= PLATEAU_CHUNKS) break;
  }
  return { calls, errors, perChunk };
}

export async function warmToSteadyState(
  systems: Systems,
  plan: SteadyPlan,
  metrics: Metrics,
  log: (line: string) => void,
) {
  for (const system of systems.list) {
    const name = system.target.system;
    const readers = system.processes.map(cpuReader);
    const client = makeLoadClient(system.target, plan.concurrency);
    const unary = await untilSteady(client, readers, chatBody(name, { stream: false, maxTokens: 16 }), plan, {
      chunk: plan.chunk,
      minCalls: plan.minRequests,
      maxCalls: plan.maxRequests,
    });
    const streams = await untilSteady(client, readers, chatBody(name, { stream: true, maxTokens: 2 }), plan, {
      chunk: plan.streamChunk,
      minCalls: plan.minStreams,
      maxCalls: plan.maxStreams,
    });
    client.close();
    metrics.add("warmup_requests", name, plan.concurrency, unary.calls, "count");
    metrics.add("warmup_streams", name, plan.concurrency, streams.calls, "count");
    for (const [kind, run] of [
      ["request", unary],
      ["stream", streams],
    ] as const) {
      const first = run.perChunk[0];
      const last = run.perChunk.at(-1);
      if (first !== undefined)
        metrics.add(`warmup_first_cpu_ms_per_${kind}`, name, plan.concurrency, first, "ms");
      if (last !== undefined)
        metrics.add(`warmup_last_cpu_ms_per_${kind}`, name, plan.concurrency, last, "ms");
    }
    const errors = unary.errors + streams.errors;
    const chunks = (values: readonly number[]) => values.map((v) => v.toFixed(2)).join(" ");
    log(
      `warm-up ${name} at concurrency ${plan.concurrency}: ${unary.calls} requests, CPU ms per request by chunk of ` +
        `${plan.chunk}: ${chunks(unary.perChunk)}; ${streams.calls} two-token streams, CPU ms per stream by chunk of ` +
        `${plan.streamChunk}: ${chunks(streams.perChunk)}${errors > 0 ? `; ${errors} errors` : ""}`,
    );
  }
}
