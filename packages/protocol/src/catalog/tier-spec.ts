import { z } from "zod";

const positiveInt = z.number().int().positive();

/**
 * The id of a tier inside a service: a lowercase slug such as `"standard"`, `"batch"` or
 * `"long-context"`. It is the part after the colon in a public model name (`llama-2-13b:batch`).
 *
 * @example
 * ```ts
 * TierId.parse("long-context"); // "long-context"
 * ```
 */
export const TierId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, "a tier id is a lowercase slug (a-z, 0-9, -)");

/**
 * Hardware guidance for node runners: what a node should have to serve a tier well. Guidance, not
 * enforcement — the evaluator's measurements decide who gets traffic.
 *
 * @example
 * ```ts
 * TierHardware.parse({ minVramGb: 16, gpuClass: "consumer-16gb", cpuAcceptable: false, notes: "8-bit weights" });
 * ```
 */
export const TierHardware = z.strictObject({
  minVramGb: z.number().nonnegative(),
  gpuClass: z.string().min(1).max(64),
  cpuAcceptable: z.boolean(),
  notes: z.string().max(1000),
});

/** A parsed {@link TierHardware}. */
export type TierHardware = z.infer<typeof TierHardware>;

/**
 * Per-call limits of a text tier. A call above them is refused before any work is spent.
 *
 * @example
 * ```ts
 * TextTierLimits.parse({ maxInputTokens: 200, maxOutputTokens: 1000 });
 * ```
 */
export const TextTierLimits = z.strictObject({
  maxInputTokens: positiveInt,
  maxOutputTokens: positiveInt,
});

/** A parsed {@link TextTierLimits}. */
export type TextTierLimits = z.infer<typeof TextTierLimits>;

/**
 * Per-call limits of an image tier, and the size of the "standard image" that the tier's price
 * is quoted for (a 1024×1024 request counts as four 512×512 standard images).
 *
 * @example
 * ```ts
 * ImageTierLimits.parse({
 *   maxWidth: 1024, maxHeight: 1024, maxSteps: 50, maxImages: 4, standardWidth: 512, standardHeight: 512,
 * });
 * ```
 */
export const ImageTierLimits = z.strictObject({
  maxWidth: positiveInt,
  maxHeight: positiveInt,
  maxSteps: positiveInt,
  maxImages: positiveInt,
  standardWidth: positiveInt,
  standardHeight: positiveInt,
});

/** A parsed {@link ImageTierLimits}. */
export type ImageTierLimits = z.infer<typeof ImageTierLimits>;

/**
 * Per-call limits of an embedding tier: tokens of each input string (a batch is limited per
 * input, not summed), inputs per call, and the length of the vectors the tier's model makes.
 *
 * @example
 * ```ts
 * EmbeddingTierLimits.parse({ maxTokensPerInput: 512, maxInputs: 64, dimensions: 384 });
 * ```
 */
export const EmbeddingTierLimits = z.strictObject({
  maxTokensPerInput: positiveInt,
  maxInputs: positiveInt,
  dimensions: positiveInt,
});

/** A parsed {@link EmbeddingTierLimits}. */
export type EmbeddingTierLimits = z.infer<typeof EmbeddingTierLimits>;

const tierFields = {
  id: TierId,
  description: z.string().min(1).max(1000),
  /** Price of one call (text) or of one standard image (image), in micro-USD. */
  priceMicroUsd: z.number().int().nonnegative(),
  /** Weight of one relay (text) or of one standard image (image) in a claim. */
  computeUnitsPerRelay: positiveInt,
  timeoutMs: positiveInt,
  hardware: TierHardware,
};

/**
 * A tier of a text service: price per call, relay weight, timeout, token limits, hardware.
 *
 * @example
 * ```ts
 * TextTierSpec.parse({
 *   id: "batch", description: "slower, cheaper", priceMicroUsd: 500, computeUnitsPerRelay: 500,
 *   timeoutMs: 300_000, limits: { maxInputTokens: 200, maxOutputTokens: 1000 },
 *   hardware: { minVramGb: 0, gpuClass: "low-end-or-cpu", cpuAcceptable: true, notes: "" },
 * });
 * ```
 */
export const TextTierSpec = z.strictObject({ ...tierFields, limits: TextTierLimits });

/** A parsed {@link TextTierSpec}. */
export type TextTierSpec = z.infer<typeof TextTierSpec>;

/**
 * A tier of an image service: price and relay weight per standard image, timeout, size/step/count
 * limits, hardware.
 *
 * @example
 * ```ts
 * ImageTierSpec.parse({
 *   id: "standard", description: "GPU", priceMicroUsd: 18_000, computeUnitsPerRelay: 18_000, timeoutMs: 120_000,
 *   limits: { maxWidth: 1024, maxHeight: 1024, maxSteps: 50, maxImages: 4, standardWidth: 512, standardHeight: 512 },
 *   hardware: { minVramGb: 8, gpuClass: "consumer-8gb", cpuAcceptable: false, notes: "" },
 * });
 * ```
 */
export const ImageTierSpec = z.strictObject({ ...tierFields, limits: ImageTierLimits });

/** A parsed {@link ImageTierSpec}. */
export type ImageTierSpec = z.infer<typeof ImageTierSpec>;

/**
 * A tier of an embedding service: price and relay weight per call (whatever the batch size, up to
 * `maxInputs`), timeout, limits, hardware.
 *
 * @example
 * ```ts
 * EmbeddingTierSpec.parse({
 *   id: "standard", description: "CPU is fine", priceMicroUsd: 50, computeUnitsPerRelay: 50, timeoutMs: 30_000,
 *   limits: { maxTokensPerInput: 512, maxInputs: 64, dimensions: 384 },
 *   hardware: { minVramGb: 0, gpuClass: "cpu", cpuAcceptable: true, notes: "" },
 * });
 * ```
 */
export const EmbeddingTierSpec = z.strictObject({ ...tierFields, limits: EmbeddingTierLimits });

/** A parsed {@link EmbeddingTierSpec}. */
export type EmbeddingTierSpec = z.infer<typeof EmbeddingTierSpec>;

/**
 * Any tier: text or image. Which one a service's tiers must be follows from the service's `kind`.
 *
 * @example
 * ```ts
 * const tier = TierSpec.parse(someTierJson);
 * if (isTextTier(tier)) tier.limits.maxInputTokens;
 * ```
 */
export const TierSpec = z.union([TextTierSpec, ImageTierSpec, EmbeddingTierSpec]);

/** A parsed {@link TierSpec}. */
export type TierSpec = z.infer<typeof TierSpec>;

/**
 * True when the tier carries token limits (a text tier).
 *
 * @example
 * ```ts
 * isTextTier(DEFAULT_CATALOG.services[0]!.tiers[0]!); // true for llama-2-13b:standard
 * ```
 */
export function isTextTier(tier: TierSpec): tier is TextTierSpec {
  return "maxInputTokens" in tier.limits;
}

/**
 * True when the tier carries image limits (an image tier).
 *
 * @example
 * ```ts
 * isImageTier(findTier(findService(DEFAULT_CATALOG, "stable-diffusion")!, "standard")!); // true
 * ```
 */
export function isImageTier(tier: TierSpec): tier is ImageTierSpec {
  return "maxWidth" in tier.limits;
}

/**
 * True when the tier carries embedding limits (an embedding tier).
 *
 * @example
 * ```ts
 * isEmbeddingTier(findTier(findService(DEFAULT_CATALOG, "nomic-embed-text")!, "standard")!); // true
 * ```
 */
export function isEmbeddingTier(tier: TierSpec): tier is EmbeddingTierSpec {
  return "maxInputs" in tier.limits;
}
