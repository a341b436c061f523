/** How much the benchmark runs: `quick` (about three minutes) and `full` (the numbers to publish). */
import type { OpenStreamsPlan } from "./open-streams-phase.js";
import type { PromptPlan } from "./prompt-phase.js";
import type { ScalePlan } from "./scale-phase.js";
import type { SoakPlan } from "./soak-phase.js";
import type { SteadyPlan } from "./steady-warmup.js";
import type { StreamPlan } from "./stream-phase.js";
import type { UnaryPlan } from "./unary-phase.js";

export interface Plan {
  readonly steady: SteadyPlan;
  readonly unary: UnaryPlan;
  readonly stream: StreamPlan & { readonly tokenDelayMs: number };
  readonly scale: ScalePlan;
  readonly prompt: PromptPlan;
  readonly openStreams: OpenStreamsPlan;
  readonly soak: SoakPlan;
}

export const PLANS: Record<"quick" | "full", Plan> = {
  quick: {
    steady: {
      concurrency: 16,
      chunk: 500,
      minRequests: 3_000,
      maxRequests: 8_000,
      streamChunk: 500,
      minStreams: 2_000,
      maxStreams: 8_000,
      maxChunkMs: 10_000,
    },
    unary: {
      concurrencies: [1, 16, 64],
      rounds: 2,
      perSlice: (c) => (c === 1 ? 300 : Math.min(c * 16, 1_500)),
      maxSliceMs: 1_500,
      warmup: (c) => Math.max(c * 4, 500),
    },
    stream: {
      concurrencies: [1, 16],
      rounds: 2,
      streamsPerSlice: (c) => (c === 1 ? 10 : c * 2),
      warmup: (c) => Math.max(c * 8, 100),
      tokens: 10,
      tokenDelayMs: 5,
      maxSliceMs: 1_500,
    },
    // 10 s after the ramp, as in full: in 3 s the gap p99 read ~1.15x or ~1.4x direct's by whether
    // a full collection landed in the window, not the steady rate of collections.
    scale: { streams: [10, 50], tokens: 45, tokenDelayMs: 33, seconds: 10 },
    prompt: { longChars: 9_000, rounds: 2, perSlice: 100, maxSliceMs: 3_000, warmup: 300 },
    openStreams: { count: 1_000, holdMs: 45_000, maxWaitMs: 40_000 },
    soak: { seconds: 8, rate: 50, maxInFlight: 256 },
  },
  full: {
    steady: {
      concurrency: 16,
      chunk: 1_000,
      minRequests: 6_000,
      maxRequests: 20_000,
      streamChunk: 1_000,
      minStreams: 4_000,
      maxStreams: 20_000,
      maxChunkMs: 20_000,
    },
    unary: {
      concurrencies: [1, 16, 64, 256],
      rounds: 4,
      perSlice: (c) => (c === 1 ? 1_000 : Math.min(c * 50, 5_000)),
      maxSliceMs: 10_000,
      warmup: (c) => Math.max(c * 8, 2_000),
    },
    stream: {
      concurrencies: [1, 16, 64],
      rounds: 4,
      streamsPerSlice: (c) => (c === 1 ? 20 : c * 4),
      warmup: (c) => Math.max(c * 16, 300),
      tokens: 32,
      tokenDelayMs: 10,
      maxSliceMs: 10_000,
    },
    scale: { streams: [50, 200, 400], tokens: 90, tokenDelayMs: 33, seconds: 10 },
    prompt: { longChars: 9_000, rounds: 4, perSlice: 300, maxSliceMs: 10_000, warmup: 1_000 },
    openStreams: { count: 1_000, holdMs: 90_000, maxWaitMs: 80_000 },
    soak: { seconds: 600, rate: 40, maxInFlight: 256 },
  },
};
