import { encodePng, type RgbaImage } from "@pocket-ai/png";
import { Effect } from "effect";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import { errorCodeOf, type ProbeError } from "../errors.js";
import type { ImagesOutcome } from "../probe/probe-transport.js";
import { base, type Row } from "../runs/entry-row.js";
import type { EntryContext } from "../runs/execute-entry.js";
import { createRng, deriveSeed, sha256Hex } from "../runs/rng.js";
import { firstPicture, sourcePicture } from "./content-probe.js";
import type { ImageProbeContext } from "./image-probe.js";
import { imageProbeRequest } from "./image-request.js";
import {
  REFERENCE_ALPHA,
  REFERENCE_MAX_COLOUR,
  REFERENCE_MAX_LAYOUT,
  REFERENCE_MIN_PAIRS,
  REFERENCE_TOLERATED_FAR_SHARE,
} from "./image-thresholds.js";
import { colourDistance, differenceHash, layoutDistance } from "./perceptual-hash.js";

/** The row category of a reference comparison. */
export const IMAGE_REFERENCE = "image-reference";

/** The penalty a node gets when its pictures are consistently unlike its reference's. */
export const IMAGE_REFERENCE_PENALTY = "image-reference-mismatch";

/**
 * The model an image node is compared against: the model it declares, else the model its service
 * is named for (the name the gateway puts in requests). `references` is looked up by this name.
 */
export const referenceModelOf = (node: EvaluatedNode): string =>
  node.declaredModel ?? node.model ?? node.serviceId;

/** Image-to-image strengths a reference probe asks for: high enough that the model paints most of it. */
const MIN_STRENGTH = 0.6;
const STRENGTH_SPREAD = 0.25;

/** Both distances between a node's picture and the reference's; a picture that does not decode is as far as can be. */
export function referenceDistances(
  node: RgbaImage | undefined,
  reference: RgbaImage,
): { readonly layout: number; readonly colour: number; readonly far: boolean } {
  if (node === undefined) return { layout: 1, colour: 1, far: true };
  const layout = layoutDistance(node, reference);
  const colour = colourDistance(node, reference);
  return { layout, colour, far: isFar(layout, colour) };
}

const isFar = (layout: number, colour: number) =>
  layout > REFERENCE_MAX_LAYOUT || colour > REFERENCE_MAX_COLOUR;

/**
 * One reference comparison: the same request — prompt, negative prompt, seed, size, steps and
 * guidance; odd `index`es an image-to-image edit of a fresh source picture at a high strength — goes
 * to the reference and then to the node, and the two pictures are compared (`referenceDistances`).
 * The node's request is an ordinary image probe's: nothing tells it that this one is compared.
 * Stored: `stat` the layout distance, `score` the colour distance, `checks.reference` whether the
 * pair was close, the node picture's dHash — never a picture. The reference failing says nothing
 * about the node: the row is `unsupported` (outside the error rate and the test); the node failing
 * is an error.
 */
export function referenceProbe(
  ctx: ImageProbeContext,
  reference: NonNullable<EntryContext["reference"]>,
  index: number,
): Effect.Effect<Row> {
  const rng = createRng(deriveSeed(ctx.seed, ctx.node.address, `${IMAGE_REFERENCE}/${index}`));
  const request = imageProbeRequest(rng, ctx.node.model, ctx.limits);
  const promptHash = sha256Hex(`${request.prompt.prompt}\u0000${request.prompt.negative ?? ""}`);
  const edit =
    index % 2 === 1
      ? {
          image: encodePng(sourcePicture(rng, request.width, request.height)),
          strength: Math.round((MIN_STRENGTH + rng.next() * STRENGTH_SPREAD) * 100) / 100,
        }
      : undefined;
  const ask = (
    transport: ImageProbeContext["transport"],
    model: string,
    node: string | undefined,
  ): Effect.Effect<ImagesOutcome, ProbeError> => {
    const body = { ...request.body, model };
    return edit === undefined
      ? transport.images(body, { node })
      : transport.imageEdits({ image: edit.image, fields: { ...body, strength: edit.strength } }, { node });
  };
  const row = { ...base, kind: "image" as const, category: IMAGE_REFERENCE, promptHash };
  return Effect.either(ask(reference.transport, reference.model, reference.targetNode)).pipe(
    Effect.flatMap((answered) => {
      const refPicture = answered._tag === "Right" ? firstPicture(answered.right) : undefined;
      if (refPicture === undefined)
        return Effect.succeed<Row>({
          ...row,
          status: "unsupported",
          probes: 0,
          errorCode: answered._tag === "Left" ? errorCodeOf(answered.left) : "INVALID_NODE_RESPONSE",
        });
      return ask(ctx.transport, ctx.node.model, ctx.node.address).pipe(
        Effect.map((outcome): Row => {
          const picture = firstPicture(outcome);
          const d = referenceDistances(picture, refPicture);
          return {
            ...row,
            status: "scored",
            stat: d.layout,
            score: d.colour,
            checks: { reference: !d.far },
            responseHash: sha256Hex(picture?.data ?? outcome.images[0] ?? new Uint8Array(0)),
            perceptualHash: picture === undefined ? null : differenceHash(picture),
          };
        }),
        Effect.catchAll((error) =>
          Effect.succeed<Row>({ ...row, status: "error", errorCode: errorCodeOf(error) }),
        ),
      );
    }),
  );
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  let term = (1 - p) ** n; // P(X = 0)
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return Math.min(1, Math.max(0, 1 - below));
}

export interface ReferenceComparison {
  readonly modelTest: "consistent" | "inconsistent" | "untested";
  readonly modelTestPValue: number | null;
  /** Compared pairs, and how many of them were far apart. */
  readonly pairs: number;
  readonly farPairs: number;
}

/**
 * The reference test over a run's compared pairs (one per prompt, the node's picture against the
 * reference's for the same request). Under "the node serves the reference's model", at most
 * `REFERENCE_TOLERATED_FAR_SHARE` of pairs are far; the one-sided binomial p-value of the far count
 * below `REFERENCE_ALPHA` calls the node `inconsistent` (with 8 pairs: 4 or more far). Fewer than
 * `REFERENCE_MIN_PAIRS` pairs, or none (no reference configured): `untested`.
 */
export function referenceComparison(rows: readonly Row[]): ReferenceComparison {
  const pairs = rows.filter(
    (r) => r.kind === "image" && r.category === IMAGE_REFERENCE && r.status === "scored",
  );
  const farPairs = pairs.filter((r) => isFar(r.stat ?? 1, r.score ?? 1)).length;
  if (pairs.length < REFERENCE_MIN_PAIRS)
    return { modelTest: "untested", modelTestPValue: null, pairs: pairs.length, farPairs };
  const p = binomialUpperTail(farPairs, pairs.length, REFERENCE_TOLERATED_FAR_SHARE);
  return {
    modelTest: p < REFERENCE_ALPHA ? "inconsistent" : "consistent",
    modelTestPValue: p,
    pairs: pairs.length,
    farPairs,
  };
}
