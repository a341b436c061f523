import { z } from "zod";
import { EmbeddingTierSpec, ImageTierSpec, TextTierSpec } from "./tier-spec.js";

/**
 * The id of a service: a lowercase slug such as `"llama-2-13b"` or `"quality-gpt-3.5"`. The same
 * pattern as the `serviceId` of a session header; it never contains a colon, which separates the
 * tier in a public model name.
 *
 * @example
 * ```ts
 * ServiceId.parse("skill-coding");
 * ```
 */
export const ServiceId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, "a service id is a lowercase slug (a-z, 0-9, '.', '-')");

/**
 * An OpenAI-compatible operation a text service can offer.
 *
 * @example
 * ```ts
 * TextOperation.parse("chat.completions");
 * ```
 */
export const TextOperation = z.enum(["completions", "chat.completions"]);

/** A parsed {@link TextOperation}. */
export type TextOperation = z.infer<typeof TextOperation>;

/**
 * An OpenAI-compatible operation an image service can offer. `images.edits` covers img2img,
 * inpainting (with a mask) and outpainting (with padding).
 *
 * @example
 * ```ts
 * ImageOperation.parse("images.edits");
 * ```
 */
export const ImageOperation = z.enum(["images.generations", "images.edits"]);

/** A parsed {@link ImageOperation}. */
export type ImageOperation = z.infer<typeof ImageOperation>;

/**
 * The operation an embedding service offers: `embeddings` (`POST /v1/embeddings`).
 *
 * @example
 * ```ts
 * EmbeddingOperation.parse("embeddings");
 * ```
 */
export const EmbeddingOperation = z.enum(["embeddings"]);

/** A parsed {@link EmbeddingOperation}. */
export type EmbeddingOperation = z.infer<typeof EmbeddingOperation>;

/**
 * Any operation: `completions`, `chat.completions`, `images.generations`, `images.edits` or
 * `embeddings`.
 *
 * @example
 * ```ts
 * const op: ServiceOperation = "completions";
 * ```
 */
export const ServiceOperation = z.enum([
  ...TextOperation.options,
  ...ImageOperation.options,
  ...EmbeddingOperation.options,
]);

/** A parsed {@link ServiceOperation}. */
export type ServiceOperation = z.infer<typeof ServiceOperation>;

/**
 * How a service is defined: by a `model` family it serves, by a measured `quality` level against a
 * known reference, or by a measured `skill` (coding, creative writing, instruction following).
 *
 * @example
 * ```ts
 * ServiceClass.parse("quality");
 * ```
 */
export const ServiceClass = z.enum(["model", "quality", "skill"]);

/** A parsed {@link ServiceClass}. */
export type ServiceClass = z.infer<typeof ServiceClass>;

/**
 * The quality categories the default catalog and evaluator know. Operators may use other slugs in
 * their own catalog; an evaluator then needs a task set for them.
 *
 * @example
 * ```ts
 * KNOWN_QUALITY_CATEGORIES.includes("coding"); // true
 * ```
 */
export const KNOWN_QUALITY_CATEGORIES = ["general", "coding", "creative", "instruction"] as const;

/**
 * The measured bar of a quality or skill service: the category scored, the score a node must clear
 * (the lower bound of its score's 95% confidence interval, on a 0..1 scale), and the public
 * reference the bar is named after.
 *
 * @example
 * ```ts
 * QualityTarget.parse({ category: "coding", minScore: 0.45, reference: "gpt-3.5" });
 * ```
 */
export const QualityTarget = z.strictObject({
  category: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/),
  minScore: z.number().min(0).max(1),
  reference: z.string().min(1).max(64),
});

/** A parsed {@link QualityTarget}. */
export type QualityTarget = z.infer<typeof QualityTarget>;

const serviceFields = {
  id: ServiceId,
  class: ServiceClass,
  displayName: z.string().min(1).max(100),
  description: z.string().min(1).max(2000),
  modelFamily: z.string().min(1).max(64).optional(),
  quality: QualityTarget.optional(),
  aliases: z.array(z.string().min(1).max(200)).optional(),
  created: z.number().int().nonnegative().optional(),
};

const TextServiceShape = z.strictObject({
  ...serviceFields,
  kind: z.literal("text"),
  operations: z.array(TextOperation).min(1),
  tiers: z.array(TextTierSpec).min(1),
});

const ImageServiceShape = z.strictObject({
  ...serviceFields,
  kind: z.literal("image"),
  operations: z.array(ImageOperation).min(1),
  tiers: z.array(ImageTierSpec).min(1),
});

const EmbeddingServiceShape = z.strictObject({
  ...serviceFields,
  kind: z.literal("embedding"),
  operations: z.array(EmbeddingOperation).min(1),
  tiers: z.array(EmbeddingTierSpec).min(1),
});

function checkService(
  service:
    | z.infer<typeof TextServiceShape>
    | z.infer<typeof ImageServiceShape>
    | z.infer<typeof EmbeddingServiceShape>,
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<string>();
  service.tiers.forEach((tier, index) => {
    if (seen.has(tier.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["tiers", index, "id"],
        message: `duplicate tier id '${tier.id}'`,
      });
    }
    seen.add(tier.id);
  });
  if (new Set(service.operations).size !== service.operations.length) {
    ctx.addIssue({ code: "custom", path: ["operations"], message: "operations must not repeat" });
  }
  if (service.class === "model" && service.modelFamily === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["modelFamily"],
      message: "a model-named service needs a modelFamily",
    });
  }
  if (service.class !== "model" && service.quality === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["quality"],
      message: `a ${service.class} service needs a quality target`,
    });
  }
}

/**
 * A service a node can register and a gateway can sell: its id, kind (text/image/embedding), class
 * (model-named, quality tier or skill), the operations it offers, its tiers and optional aliases.
 * `created` (Unix seconds) is when the service entered the catalog: `GET /v1/models` answers it as
 * the `created` of each of its names, the same on every gateway and after every restart; a service
 * without it answers {@link CATALOG_CREATED}.
 * Tier ids are unique within the service; model services name a `modelFamily`; quality and skill
 * services carry a {@link QualityTarget}.
 *
 * @example
 * ```ts
 * const svc = ServiceSpec.parse(DEFAULT_CATALOG.services[0]);
 * svc.kind; // "text"
 * ```
 */
export const ServiceSpec = z
  .discriminatedUnion("kind", [TextServiceShape, ImageServiceShape, EmbeddingServiceShape])
  .superRefine(checkService);

/**
 * When the default catalog's services entered it (2026-11-25, Unix seconds): the `created`
 * `GET /v1/models` answers for every service that does not set its own, the default catalog's
 * included. A constant, so that a client caching the list sees no change between reads, restarts
 * or replicas.
 *
 * @example
 * ```ts
 * new Date(CATALOG_CREATED * 1000).toISOString(); // "2026-11-25T00:00:00.000Z"
 * ```
 */
export const CATALOG_CREATED = 1_795_564_800;

/**
 * The `created` of a service's model names (Unix seconds): its own, or {@link CATALOG_CREATED}.
 *
 * @example
 * ```ts
 * serviceCreated({ created: 1_700_000_000 }); // 1700000000
 * ```
 */
export const serviceCreated = (service: { readonly created?: number | undefined }): number =>
  service.created ?? CATALOG_CREATED;

/** A parsed {@link ServiceSpec}. */
export type ServiceSpec = z.infer<typeof ServiceSpec>;

/** A text {@link ServiceSpec}. */
export type TextServiceSpec = Extract<ServiceSpec, { kind: "text" }>;

/** An image {@link ServiceSpec}. */
export type ImageServiceSpec = Extract<ServiceSpec, { kind: "image" }>;

/** An embedding {@link ServiceSpec}. */
export type EmbeddingServiceSpec = Extract<ServiceSpec, { kind: "embedding" }>;
