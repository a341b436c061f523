import type { TextTierSpec, TierHardware } from "./tier-spec.js";

/**
 * Per-call token limits of the seed proposal: at most 200 input and 1000 output tokens per call,
 * for both the standard and the batch tier.
 *
 * @example
 * ```ts
 * SEED_TEXT_LIMITS.maxInputTokens; // 200
 * ```
 */
export const SEED_TEXT_LIMITS = { maxInputTokens: 200, maxOutputTokens: 1000 } as const;

/**
 * Limits of the `long-context` tier: a full 4096-token window (3072 in + 1024 out), the context
 * size of Llama 2 that the forum debate asked for ("models can take 4K tokens easily").
 *
 * @example
 * ```ts
 * LONG_CONTEXT_LIMITS.maxInputTokens + LONG_CONTEXT_LIMITS.maxOutputTokens; // 4096
 * ```
 */
export const LONG_CONTEXT_LIMITS = { maxInputTokens: 3072, maxOutputTokens: 1024 } as const;

/**
 * Price of a `long-context` call in micro-USD. The seed prices a call that may occupy 1200 tokens
 * (200 + 1000) at 750 µUSD; this tier may occupy 4096, so it costs 750 × 4096 / 1200 = 2560 µUSD.
 * Linear scaling follows the proposal's cost argument; the debate's objection (attention cost grows
 * faster than linearly) is met by the tier's larger VRAM guidance and longer timeout, and by
 * operators overriding the price in their catalog if measured cost says otherwise.
 *
 * @example
 * ```ts
 * LONG_CONTEXT_PRICE_MICRO_USD; // 2560
 * ```
 */
export const LONG_CONTEXT_PRICE_MICRO_USD = 2560;

/** Guidance shared by every CPU-friendly batch tier of a text service. */
function batchHardware(notes: string): TierHardware {
  return { minVramGb: 0, gpuClass: "low-end-or-cpu", cpuAcceptable: true, notes };
}

/**
 * Builds the default tiers of a text service from the seed's numbers. Compute units equal the price
 * in micro-USD, so one compute-units-to-tokens multiplier per week converts every service's work to
 * POKT (750 CU × 4 uPOKT/CU at $0.25/POKT = 3000 uPOKT per standard relay).
 *
 * @example
 * ```ts
 * const tiers = seedTextTiers({ standard: 750, batch: 500, standardHardware, batchNotes: "…" });
 * tiers.map((t) => t.id); // ["standard", "batch"]
 * ```
 */
export function seedTextTiers(options: {
  readonly standard: number;
  readonly batch: number;
  readonly standardHardware: TierHardware;
  readonly batchNotes: string;
  readonly longContextHardware?: TierHardware;
}): TextTierSpec[] {
  const tiers: TextTierSpec[] = [
    {
      id: "standard",
      description: "Interactive tier on a GPU: answers within seconds.",
      priceMicroUsd: options.standard,
      computeUnitsPerRelay: options.standard,
      timeoutMs: 60_000,
      limits: { ...SEED_TEXT_LIMITS },
      hardware: options.standardHardware,
    },
    {
      id: "batch",
      description: "Slower, cheaper tier for batch work; low-end GPUs or CPUs serve it.",
      priceMicroUsd: options.batch,
      computeUnitsPerRelay: options.batch,
      timeoutMs: 300_000,
      limits: { ...SEED_TEXT_LIMITS },
      hardware: batchHardware(options.batchNotes),
    },
  ];
  if (options.longContextHardware !== undefined) {
    tiers.push({
      id: "long-context",
      description: "A full 4K window: up to 3072 input and 1024 output tokens per call, on a GPU.",
      priceMicroUsd: LONG_CONTEXT_PRICE_MICRO_USD,
      computeUnitsPerRelay: LONG_CONTEXT_PRICE_MICRO_USD,
      timeoutMs: 180_000,
      limits: { ...LONG_CONTEXT_LIMITS },
      hardware: options.longContextHardware,
    });
  }
  return tiers;
}
