import { encodePng, type RgbaImage } from "@pocket-ai/png";
import { Effect } from "effect";
import type { ProbeError } from "../errors.js";
import { errorCodeOf } from "../errors.js";
import type { ImagesOutcome } from "../probe/probe-transport.js";
import type { Row } from "../runs/entry-row.js";
import { createRng, deriveSeed, type Rng, sha256Hex } from "../runs/rng.js";
import {
  inpaintKeeps,
  meanDifference,
  outpaintKeeps,
  PROBE_COLOURS,
  type ProbeColour,
  type Rect,
  showsColour,
  strengthMonotonic,
} from "./content-checks.js";
import type { ImageProbeContext } from "./image-probe.js";
import { randomImagePrompt } from "./image-prompts.js";
import { randomImageSize } from "./image-request.js";
import { decoded } from "./inspect-image.js";

/** The content checks, each a kind of probe and a check of the `images` category. */
export const CONTENT_CHECKS = ["colour", "img2img", "inpaint", "outpaint"] as const;
export type ContentCheck = (typeof CONTENT_CHECKS)[number];

/** The row category of a content probe. */
export const contentCategory = (check: ContentCheck) => `image-${check}`;

/** The strengths one image-to-image probe asks for, lowest first. */
export const PROBE_STRENGTHS = [0.2, 0.5, 0.85] as const;

const COLOUR_PROMPTS = [
  (c: string) => `a plain ${c} background`,
  (c: string) => `a flat ${c} wall, minimalist photograph`,
  (c: string) => `a smooth ${c} colour field, abstract painting`,
  (c: string) => `${c} paper texture, close up`,
];

/**
 * A source picture no node has seen: a two-colour gradient with a few filled rectangles and discs
 * of random colours, drawn from the probe's own random stream (so a node cannot keep edits ready).
 */
export function sourcePicture(rng: Rng, width: number, height: number): RgbaImage {
  const colour = () => [rng.int(256), rng.int(256), rng.int(256)] as const;
  const [a, b] = [colour(), colour()];
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / Math.max(1, width + height - 2);
      const p = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[p + c] = Math.round(a[c]! * (1 - t) + b[c]! * t);
      data[p + 3] = 255;
    }
  }
  const shapes = 3 + rng.int(4);
  for (let s = 0; s < shapes; s++) {
    const fill = colour();
    const cx = rng.int(width);
    const cy = rng.int(height);
    const rx = 4 + rng.int(Math.max(1, Math.floor(width / 4)));
    const ry = 4 + rng.int(Math.max(1, Math.floor(height / 4)));
    const disc = rng.next() < 0.5;
    for (let y = Math.max(0, cy - ry); y < Math.min(height, cy + ry); y++) {
      for (let x = Math.max(0, cx - rx); x < Math.min(width, cx + rx); x++) {
        if (disc && ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 > 1) continue;
        const p = (y * width + x) * 4;
        data[p] = fill[0];
        data[p + 1] = fill[1];
        data[p + 2] = fill[2];
      }
    }
  }
  return { width, height, data };
}

/** An opaque mask, white (repaint) inside `rect` and black elsewhere. */
function maskPicture(width: number, height: number, rect: Rect): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const v = x >= rect.x0 && x < rect.x1 && y >= rect.y0 && y < rect.y1 ? 255 : 0;
      data[p] = v;
      data[p + 1] = v;
      data[p + 2] = v;
      data[p + 3] = 255;
    }
  }
  return { width, height, data };
}

/** The answer's first picture, decoded; undefined when there is none or it does not decode. */
export const firstPicture = (outcome: ImagesOutcome): RgbaImage | undefined => {
  const bytes = outcome.images[0];
  return bytes === undefined ? undefined : decoded(bytes);
};

/** The band (pixels) next to a mask or source edge where an edit may blend: ignored by the checks. */
const bandOf = (width: number, height: number) => Math.max(4, Math.round(Math.min(width, height) * 0.06));

/**
 * One content probe through the gateway, built from the run's seed like every other probe:
 * - `colour`: a prompt naming one colour ("a plain blue background"); the picture's saturated
 *   pixels must be that colour.
 * - `img2img`: one source picture at three strengths (same prompt and seed); the distance from the
 *   source must grow with the strength.
 * - `inpaint`: a source and a rectangular mask; pixels outside the mask are kept, inside repainted.
 * - `outpaint`: a source and padding; the source region is kept and the new border is not flat.
 * A failed relay is an error (the error rate), not a failed check; the row keeps check results,
 * hashes and one number — never a picture or a prompt.
 */
export function contentProbe(ctx: ImageProbeContext, check: ContentCheck, index: number): Effect.Effect<Row> {
  const rng = createRng(deriveSeed(ctx.seed, ctx.node.address, `image-${check}/${index}`));
  const { width, height } = randomImageSize(rng, ctx.limits);
  const seed = rng.int(2 ** 31);
  const steps = Math.min(ctx.limits.maxSteps, 18 + rng.int(13));
  const common = { model: ctx.node.model, seed, steps, n: 1 };
  const target = { node: ctx.node.address };
  const category = contentCategory(check);
  const row = (
    passed: boolean,
    stat: number | null,
    promptHash: string,
    last: Uint8Array | undefined,
  ): Row => ({
    kind: "image",
    category,
    status: "scored",
    score: passed ? 1 : 0,
    stat,
    ttftMs: null,
    promptHash,
    responseHash: sha256Hex(last ?? new Uint8Array(0)),
    perceptualHash: null,
    checks: { [check]: passed },
    errorCode: null,
    probes: check === "img2img" ? PROBE_STRENGTHS.length : 1,
    varied: null,
  });

  let probe: Effect.Effect<Row, ProbeError>;
  let promptHash: string;
  switch (check) {
    case "colour": {
      const names = Object.keys(PROBE_COLOURS) as ProbeColour[];
      const colour = rng.pick(names);
      const prompt = rng.pick(COLOUR_PROMPTS)(colour);
      promptHash = sha256Hex(prompt);
      probe = Effect.map(
        ctx.transport.images({ ...common, prompt, size: `${width}x${height}` }, target),
        (outcome) => {
          const image = firstPicture(outcome);
          const passed =
            image !== undefined &&
            image.width === width &&
            image.height === height &&
            showsColour(image, colour);
          return row(passed, null, promptHash, outcome.images[0]);
        },
      );
      break;
    }
    case "img2img": {
      const source = sourcePicture(rng, width, height);
      const prompt = randomImagePrompt(rng).prompt;
      promptHash = sha256Hex(prompt);
      const png = encodePng(source);
      probe = Effect.map(
        Effect.forEach(PROBE_STRENGTHS, (strength) =>
          ctx.transport.imageEdits(
            { image: png, fields: { ...common, prompt, size: `${width}x${height}`, strength } },
            target,
          ),
        ),
        (outcomes) => {
          const distances = outcomes.map((o) => {
            const image = firstPicture(o);
            return image === undefined ? null : meanDifference(source, image);
          });
          const passed = strengthMonotonic(distances);
          const spread = distances.every((d) => d !== null)
            ? (distances.at(-1) as number) - (distances[0] as number)
            : null;
          return row(passed, spread, promptHash, outcomes.at(-1)?.images[0]);
        },
      );
      break;
    }
    case "inpaint": {
      const source = sourcePicture(rng, width, height);
      const mw = Math.round(width * (0.3 + rng.next() * 0.2));
      const mh = Math.round(height * (0.3 + rng.next() * 0.2));
      const x0 = rng.int(width - mw + 1);
      const y0 = rng.int(height - mh + 1);
      const mask = { x0, y0, x1: x0 + mw, y1: y0 + mh };
      const prompt = randomImagePrompt(rng).prompt;
      promptHash = sha256Hex(prompt);
      probe = Effect.map(
        ctx.transport.imageEdits(
          {
            image: encodePng(source),
            mask: encodePng(maskPicture(width, height, mask)),
            fields: { ...common, prompt, size: `${width}x${height}` },
          },
          target,
        ),
        (outcome) => {
          const image = firstPicture(outcome);
          const passed = image !== undefined && inpaintKeeps(source, image, mask, bandOf(width, height));
          return row(passed, null, promptHash, outcome.images[0]);
        },
      );
      break;
    }
    case "outpaint": {
      const horizontal = rng.next() < 0.5;
      const padX = horizontal ? 8 * Math.max(1, Math.round(width / 8 / 5)) : 0;
      const padY = horizontal ? 0 : 8 * Math.max(1, Math.round(height / 8 / 5));
      const padding = { top: padY, right: padX, bottom: padY, left: padX };
      const at = { x0: padX, y0: padY, x1: width - padX, y1: height - padY };
      const source = sourcePicture(rng, at.x1 - at.x0, at.y1 - at.y0);
      const prompt = randomImagePrompt(rng).prompt;
      promptHash = sha256Hex(prompt);
      probe = Effect.map(
        ctx.transport.imageEdits(
          { image: encodePng(source), fields: { ...common, prompt, size: `${width}x${height}`, padding } },
          target,
        ),
        (outcome) => {
          const image = firstPicture(outcome);
          const passed =
            image !== undefined && outpaintKeeps(source, image, { width, height }, at, bandOf(width, height));
          return row(passed, null, promptHash, outcome.images[0]);
        },
      );
      break;
    }
  }
  return probe.pipe(
    Effect.catchAll((error) =>
      Effect.succeed<Row>({
        kind: "image",
        category,
        status: "error",
        score: null,
        stat: null,
        ttftMs: null,
        promptHash,
        responseHash: null,
        perceptualHash: null,
        checks: null,
        errorCode: errorCodeOf(error),
        probes: 1,
        varied: null,
      }),
    ),
  );
}
