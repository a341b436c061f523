import { z } from "zod";
import { PoktAddress } from "../crypto/index.js";

const unit = z.number().min(0).max(1);

/**
 * How the board's objects treat a key they do not define: the evaluator's own output is checked
 * strictly (a misspelt field is an error before it is published), while readers drop what they do
 * not know, so a board from a newer evaluator that adds optional fields still parses for them.
 */
function boardSchemas<Mode extends z.core.$ZodObjectConfig>(
  object: <Shape extends z.core.$ZodLooseShape>(
    shape: Shape,
  ) => z.ZodObject<z.core.util.Writeable<Shape>, Mode>,
) {
  const ScoreEstimate = object({
    mean: unit,
    lower: unit,
    upper: unit,
    n: z.int().nonnegative(),
  });

  const ImageFindings = object({
    checks: object({
      png: ScoreEstimate,
      size: ScoreEstimate,
      notBlank: ScoreEstimate,
      seed: ScoreEstimate,
      distinct: ScoreEstimate,
      /** A prompt naming a colour gets a picture in that colour. */
      colour: ScoreEstimate.optional(),
      /** Image-to-image: the distance from the source grows with `strength`. */
      img2img: ScoreEstimate.optional(),
      /** Inpainting keeps the pixels outside the mask and repaints inside it. */
      inpaint: ScoreEstimate.optional(),
      /** Outpainting keeps the source region and paints a border. */
      outpaint: ScoreEstimate.optional(),
    }),
    /** Largest perceptual distance (share of differing hash bits) between two answers to one prompt and seed. */
    seedDistance: unit.nullable(),
    /** Smallest perceptual distance between answers to two different prompts. */
    duplicateDistance: unit.nullable(),
    /** Pairs of answers to different prompts that are near-duplicates. */
    nearDuplicatePairs: z.int().nonnegative(),
  });

  const NodeScore = object({
    address: PoktAddress,
    /** The service the node was measured on (the one it registered). */
    serviceId: z.string().min(1),
    /** Category → score: knowledge, reasoning, coding, instruction, creative (and any others a suite defines). */
    categories: z.record(z.string().min(1), ScoreEstimate),
    /** Overall score across categories, when enough items were scored. */
    overall: ScoreEstimate.optional(),
    /** Quality and skill service ids whose threshold this node's interval clears. */
    qualifies: z.array(z.string().min(1)),
    speed: object({
      /** Time to first token that 90% of probes beat (the slow end, which customers feel). */
      ttftP10Ms: z.number().nonnegative().nullable(),
      tokensPerSecondP10: z.number().nonnegative().nullable(),
      samples: z.int().nonnegative(),
    }),
    errorRate: unit,
    identity: object({
      /** Nodes answering from one backend share a group id (identical greedy completions on random prompts). */
      sharedBackendGroup: z.string().nullable(),
      declaredModel: z.string().nullable(),
      /** Two-sample test of completions against reference samples of the declared model. */
      modelTest: z.enum(["consistent", "inconsistent", "untested"]),
      modelTestPValue: unit.nullable(),
      /**
       * Image nodes: true when the node answered different prompts with near-duplicate pictures (a
       * cached or stock answer); absent for text nodes.
       */
      cachedAnswers: z.boolean().optional(),
      /**
       * True when the node's answers follow the public answer key rather than the items' content:
       * high on items asked as published, near chance on the same tasks' varied items. Absent from
       * older boards.
       */
      answerKey: z.boolean().optional(),
      /** True when the node's prompt log-probabilities are constant (made up, not computed). */
      fakeLogprobs: z.boolean().optional(),
      /**
       * Text nodes: how the node's answers to customers are checked against what it shows probes
       * (organic checks). `reference`: customers' outputs compared with the declared model's
       * reference endpoint; `self`: the node asked its customers' requests again as probes and both
       * answers scored by the evaluator's scorer model; `none`: no check possible (no reference and
       * no scorer), so the node is granted no quality tier (`qualifies` is empty, no penalty).
       * Absent for image nodes and from older boards.
       */
      organicCheck: z.enum(["reference", "self", "none"]).optional(),
      /**
       * Text nodes: how many of the node's answers to customers those checks scored, pooled over
       * the runs kept as evidence: the evidence behind `organicCheck`. 0 for a node that had no
       * customer traffic to check yet (its tiers then rest on probes alone). Absent for image
       * nodes, for `none`, and from older boards.
       */
      organicChecked: z.number().int().nonnegative().optional(),
    }),
    /** `unsupported` when the backend returns no prompt logprobs: loglikelihood tasks were not run, never scored at chance. */
    loglikelihood: z.enum(["supported", "unsupported", "unknown"]),
    /** Image nodes: the image checks in detail (their overall share is `categories.images`); absent for text nodes. */
    images: ImageFindings.optional(),
    /**
     * Findings that took the node's quality and skill tiers away (`qualifies` is empty) and that
     * gateways down-weight it for: `model-mismatch` (the declared-model test failed),
     * `organic-mismatch` (customers served worse than probes), `answer-key`, `fake-logprobs`.
     * Open-ended strings, so a newer evaluator's reasons still parse. Absent or empty: none.
     */
    penalties: z.array(z.string().min(1)).optional(),
    updatedAt: z.int().nonnegative(),
  });

  const Scoreboard = object({
    evaluator: z.string().min(1),
    generatedAt: z.int().nonnegative(),
    nodes: z.array(NodeScore),
  });

  return { ScoreEstimate, ImageFindings, NodeScore, Scoreboard };
}

const published = boardSchemas((shape) => z.strictObject(shape));
const forReaders = boardSchemas((shape) => z.object(shape));

/**
 * A measured score with its uncertainty: the mean over `n` scored items and its 95% confidence
 * interval. A node joins a quality tier only when `lower` clears the tier's threshold.
 *
 * @example
 * ```ts
 * ScoreEstimate.parse({ mean: 0.72, lower: 0.66, upper: 0.78, n: 200 });
 * ```
 */
export const ScoreEstimate = published.ScoreEstimate;
/** A parsed {@link ScoreEstimate}. */
export type ScoreEstimate = z.infer<typeof ScoreEstimate>;

/**
 * What the image checks of an evaluator found on an image node: each check's pass share with its
 * 95% interval (`png`: the file decodes; `size`: it is the size asked; `notBlank`: pixel statistics;
 * `seed`: the same prompt and seed give the same picture; `distinct`: different prompts give
 * different pictures), the largest perceptual distance between two same-seed answers (0 = the same
 * picture, about 0.5 = unrelated) and the smallest between answers to different prompts.
 *
 * @example
 * ```ts
 * const est = { mean: 1, lower: 0.76, upper: 1, n: 12 };
 * ImageFindings.parse({
 *   checks: { png: est, size: est, notBlank: est, seed: { mean: 1, lower: 0.51, upper: 1, n: 4 }, distinct: est },
 *   seedDistance: 0, duplicateDistance: 0.41, nearDuplicatePairs: 0,
 * });
 * ```
 */
export const ImageFindings = published.ImageFindings;
/** A parsed {@link ImageFindings}. */
export type ImageFindings = z.infer<typeof ImageFindings>;

/**
 * What an evaluator publishes about one node: per-category scores, speed at a low percentile,
 * error rate, the quality and skill services it qualifies for, and identity findings.
 *
 * @example
 * ```ts
 * const entry: NodeScore = {
 *   address: "pokt1...", serviceId: "llama-2-13b", categories: {}, qualifies: ["quality-gpt-3.5"],
 *   speed: { ttftP10Ms: 120, tokensPerSecondP10: 35, samples: 40 }, errorRate: 0.01,
 *   identity: { sharedBackendGroup: null, declaredModel: "llama-2-13b", modelTest: "consistent", modelTestPValue: 0.4 },
 *   loglikelihood: "supported", updatedAt: 1_700_000_000_000,
 * };
 * ```
 */
export const NodeScore = published.NodeScore;
/** A parsed {@link NodeScore}. */
export type NodeScore = z.infer<typeof NodeScore>;

/**
 * The evaluator's public scoreboard, which gateways poll and route by (quality-tier membership
 * and selection weights) and the leaderboard page shows. This schema is the producer's: it refuses
 * any field it does not define, at any depth, so an evaluator checks its own output with it. A
 * reader of someone else's board parses with {@link ScoreboardForReaders} instead, which drops
 * the fields a newer evaluator added.
 *
 * @example
 * ```ts
 * Scoreboard.parse({ evaluator: "pokt1...", generatedAt: 0, nodes: [] });
 * ```
 */
export const Scoreboard = published.Scoreboard;
/** A parsed {@link Scoreboard}. */
export type Scoreboard = z.infer<typeof Scoreboard>;

/**
 * The {@link Scoreboard} as a reader parses it (a gateway, a leaderboard, a CLI, an explorer):
 * fields it does not define, at the top, in a node entry or in any nested object, are accepted
 * and dropped, so a board from a newer evaluator (one that added a field since this package was
 * released) still parses. A missing required field, a wrong type or a value outside a field's
 * enum is still refused. Its output has the {@link Scoreboard} type.
 *
 * @example
 * ```ts
 * const board = ScoreboardForReaders.parse({ evaluator: "pokt1...", generatedAt: 0, nodes: [], addedLater: 1 });
 * // board: Scoreboard, without `addedLater`
 * ```
 */
export const ScoreboardForReaders = forReaders.Scoreboard;

/**
 * One {@link NodeScore} as a reader parses it: unknown fields, nested ones included, are dropped
 * rather than refused (see {@link ScoreboardForReaders}).
 *
 * @example
 * ```ts
 * const entry: NodeScore = NodeScoreForReaders.parse(storedEntry);
 * ```
 */
export const NodeScoreForReaders = forReaders.NodeScore;

/**
 * The tRPC procedure path an evaluator serves its scoreboard at (a query, no input).
 *
 * @example
 * ```ts
 * EVALUATOR_PROCEDURES.scoreboard; // "scores.board"
 * ```
 */
export const EVALUATOR_PROCEDURES = { scoreboard: "scores.board" } as const;
