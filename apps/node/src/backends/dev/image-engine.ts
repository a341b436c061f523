import { decodePngAsync, encodePngAsync, PngError, type RgbaImage } from "@pocket-ai/png";
import { repaintBitsAsync } from "../edit-mask.js";
import { compositeAsync } from "./image-composite.js";
import { type FieldParams, renderFieldAsync } from "./image-field.js";
import { ImageEditRequest, ImageGenerateRequest, parseImageRequest } from "./image-request.js";
import { DEV_BACKEND_LABEL } from "./label.js";
import { DevBackendRequestError } from "./request-error.js";
import { randomSeed } from "./rng.js";
import { realSleep, type Sleep } from "./sleep.js";

export interface DevImageEngineOptions {
  /** 0..1 (default 1): lower keeps fewer detail octaves and adds grain. */
  readonly quality?: number | undefined;
  /** Simulated denoising time per step per image; 0 (default) adds none. */
  readonly msPerStep?: number | undefined;
  readonly sleep?: Sleep | undefined;
}

export interface ImageResult {
  /** PNG files, one per requested image. */
  readonly images: Uint8Array[];
  readonly width: number;
  readonly height: number;
  readonly seeds: number[];
}

export interface DevImageEngine {
  readonly info: { readonly label: string; readonly quality: number; readonly msPerStep: number };
  /** txt2img: same prompt, seed and steps give byte-identical PNGs. */
  generate(request: ImageGenerateRequest, signal?: AbortSignal): Promise<ImageResult>;
  /** img2img without mask or padding, inpainting with a mask, outpainting with padding. */
  edit(request: ImageEditRequest, signal?: AbortSignal): Promise<ImageResult>;
}

export function createDevImageEngine(options: DevImageEngineOptions = {}): DevImageEngine {
  const quality = options.quality ?? 1;
  const msPerStep = options.msPerStep ?? 0;
  if (!(quality >= 0 && quality <= 1)) throw new RangeError(`quality must be within 0..1, got ${quality}`);
  if (!(msPerStep >= 0)) throw new RangeError("msPerStep must be non-negative");
  const sleep = options.sleep ?? realSleep;

  /**
   * Runs `paint` once per image with its seed, after the simulated denoising time. Pictures are
   * rendered, composited and encoded a band of rows at a time (see `inRowBands` and
   * `encodePngAsync`), as uploads are decoded: the engine runs in the node's process, and a large
   * picture must not hold the event loop its other relays wait on.
   */
  const batch = async (
    req: { readonly seed?: number | undefined; readonly n: number; readonly steps: number },
    signal: AbortSignal | undefined,
    paint: (seed: number) => Promise<Uint8Array>,
  ): Promise<{ images: Uint8Array[]; seeds: number[] }> => {
    const first = req.seed ?? randomSeed();
    const seeds = Array.from({ length: req.n }, (_, i) => first + i);
    const images: Uint8Array[] = [];
    for (const seed of seeds) {
      signal?.throwIfAborted();
      if (msPerStep > 0) await sleep(msPerStep * req.steps, signal);
      signal?.throwIfAborted();
      images.push(await paint(seed));
    }
    return { images, seeds };
  };

  const fieldParams = (
    req: { prompt: string; negativePrompt: string; steps: number; cfgScale: number },
    seed: number,
  ): FieldParams => ({ ...req, seed, quality });

  return {
    info: { label: DEV_BACKEND_LABEL, quality, msPerStep },
    generate: async (request, signal) => {
      const req = parseImageRequest(ImageGenerateRequest, request);
      const { width, height } = req;
      const result = await batch(req, signal, async (seed) =>
        encodePngAsync({
          width,
          height,
          data: await renderFieldAsync(width, height, fieldParams(req, seed)),
        }),
      );
      return { ...result, width, height };
    },
    edit: async (request, signal) => {
      const req = parseImageRequest(ImageEditRequest, request);
      const init = await decodeInput(req.image, "image");
      const mask =
        req.mask === undefined
          ? undefined
          : await repaintBitsAsync(await decodeInput(req.mask, "mask"), init.width, init.height);
      const pad = req.padding ?? { top: 0, right: 0, bottom: 0, left: 0 };
      const width = init.width + pad.left + pad.right;
      const height = init.height + pad.top + pad.bottom;
      if (width > 4096 || height > 4096)
        throw new DevBackendRequestError("outpainted canvas exceeds 4096 pixels");
      const outpaint = width !== init.width || height !== init.height;
      const strengthAt = (i: number) => (mask ? (mask[i] ? req.strength : 0) : outpaint ? 0 : req.strength);
      const result = await batch(req, signal, async (seed) => {
        // The field is rendered in the padded canvas's coordinates, so outpainting continues
        // the same scene outward on every side.
        const field = await renderFieldAsync(width, height, fieldParams(req, seed), -pad.left, -pad.top);
        const out = await compositeAsync(init, field, { width, height, pad, strengthAt });
        return encodePngAsync({ width, height, data: out });
      });
      return { ...result, width, height };
    },
  };
}

async function decodeInput(bytes: Uint8Array, what: string): Promise<RgbaImage> {
  try {
    return await decodePngAsync(bytes);
  } catch (error) {
    if (error instanceof PngError) throw new DevBackendRequestError(`${what}: ${error.message}`);
    throw error;
  }
}
