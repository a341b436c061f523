import { decodePngAsync, encodePngAsync, resizeRgbaAsync } from "@pocket-ai/png";
import type { OutpaintPadding } from "@pocket-ai/protocol";
import type { Effect } from "effect";
import type { BackendError } from "../backend.js";
import { fitOutpaintSourceAsync, type ImageSize, parseSize } from "../outpaint-canvas.js";
import type { DevImageEngine, ImageResult } from "./index.js";
import { DevBackendRequestError } from "./index.js";
import type { DevRunner } from "./text-calls.js";

const DEFAULT_SIZE: ImageSize = { width: 512, height: 512 };
const optionalNumber = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;
const optionalText = (value: unknown) => (typeof value === "string" ? value : undefined);

function commonFields(body: Record<string, unknown>) {
  return {
    prompt: typeof body.prompt === "string" ? body.prompt : "",
    negativePrompt: optionalText(body.negative_prompt),
    seed: optionalNumber(body.seed),
    steps: optionalNumber(body.steps),
    cfgScale: optionalNumber(body.cfg_scale),
    n: optionalNumber(body.n),
  };
}

/** `{created, data: [{b64_json, seed}]}`, the seed of each image kept for reproducibility. */
function imagesResponse(result: ImageResult, now: () => number): Record<string, unknown> {
  return {
    created: Math.floor(now() / 1000),
    data: result.images.map((png, i) => ({
      b64_json: Buffer.from(png).toString("base64"),
      seed: result.seeds[i],
    })),
  };
}

export function devImagesGenerations(
  engine: DevImageEngine,
  runner: DevRunner,
  body: Record<string, unknown>,
): Effect.Effect<Record<string, unknown>, BackendError> {
  const size = parseSize(body.size) ?? DEFAULT_SIZE;
  return runner.run(async (signal) =>
    imagesResponse(await engine.generate({ ...commonFields(body), ...size }, signal), runner.now),
  );
}

/**
 * Image edits. The engine edits at the init image's size and grows the canvas by the padding; the
 * protocol's `size` is the output size, so the source is first scaled to `size` (minus the padding
 * when outpainting) — the same picture an AUTOMATIC1111 node would paint.
 */
export function devImagesEdits(
  engine: DevImageEngine,
  runner: DevRunner,
  body: Record<string, unknown>,
): Effect.Effect<Record<string, unknown>, BackendError> {
  return runner.run(async (signal) => {
    if (typeof body.image !== "string") throw new DevBackendRequestError("image is required");
    const padding = (typeof body.padding === "object" && body.padding !== null ? body.padding : undefined) as
      | OutpaintPadding
      | undefined;
    const size = parseSize(body.size);
    let image: Uint8Array = Buffer.from(body.image, "base64");
    if (size !== undefined) {
      const source = await decodePngAsync(image);
      const fitted =
        padding === undefined
          ? await resizeRgbaAsync(source, size.width, size.height)
          : await fitOutpaintSourceAsync(source, padding, size);
      if (fitted !== source) image = await encodePngAsync(fitted);
    }
    const result = await engine.edit(
      {
        ...commonFields(body),
        image,
        ...(typeof body.mask === "string" ? { mask: Buffer.from(body.mask, "base64") } : {}),
        ...(optionalNumber(body.strength) === undefined ? {} : { strength: optionalNumber(body.strength) }),
        ...(padding === undefined ? {} : { padding }),
      },
      signal,
    );
    return imagesResponse(result, runner.now);
  });
}
