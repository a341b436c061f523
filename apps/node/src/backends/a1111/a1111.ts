import { decodePngAsync, encodePngAsync } from "@pocket-ai/png";
import { imageEditMode, type OutpaintPadding } from "@pocket-ai/protocol";
import { Effect, Stream } from "effect";
import type { BackendConfig } from "../../config/node-config.js";
import { type Backend, BackendRejected } from "../backend.js";
import { ENGINE_CAPABILITIES } from "../engine-capabilities.js";
import { type EngineTarget, engineHeaders, engineIdUrl, expectRecord, requestJson } from "../engine-http.js";
import { fitOutpaintSourceAsync, outpaintCanvasAsync, parseSize, pngSize } from "../outpaint-canvas.js";

const DEFAULT_SIZE = { width: 512, height: 512 } as const;

const text = (value: unknown, fallback: string) => (typeof value === "string" ? value : fallback);
const num = (value: unknown, fallback: number) =>
  typeof value === "number" && Number.isFinite(value) ? value : fallback;
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/**
 * The AUTOMATIC1111 web UI API (`--api`). txt2img and img2img map one to one; inpainting sends the
 * caller's mask as is (A1111 reads masks as the dev backend does: by alpha when the mask has
 * transparency, else by luminance, white = repaint); outpainting is built here as an inpainting
 * request on a padded canvas, since the API has no outpainting of its own.
 *
 * `config.model` selects the checkpoint through `override_settings`, kept loaded afterwards
 * (switching checkpoints per request would cost seconds each time).
 */
export function makeA1111Backend(
  config: BackendConfig & { readonly url: string; readonly now?: () => number },
): Backend {
  const now = config.now ?? Date.now;
  const target: EngineTarget = {
    backendId: `a1111@${engineIdUrl(config.url)}`,
    baseUrl: config.url,
    timeoutMs: config.timeoutMs,
    headers: engineHeaders(config),
  };
  const backendId = target.backendId;
  const rejected = (status: number, reason: string) =>
    new BackendRejected({ backend: backendId, status, reason });
  const notText = () => Effect.fail(rejected(501, "AUTOMATIC1111 serves images only"));

  /** Fields txt2img and img2img share. `seed: -1` is A1111's "random". */
  const common = (body: Record<string, unknown>, size: { width: number; height: number }) => {
    const n = num(body.n, 1);
    return {
      prompt: text(body.prompt, ""),
      negative_prompt: text(body.negative_prompt, ""),
      seed: num(body.seed, -1),
      steps: num(body.steps, 20),
      cfg_scale: num(body.cfg_scale, 7),
      width: size.width,
      height: size.height,
      batch_size: n,
      n_iter: 1,
      ...(typeof body.sampler === "string" ? { sampler_name: body.sampler } : {}),
      ...(config.model === undefined
        ? {}
        : {
            override_settings: { sd_model_checkpoint: config.model },
            override_settings_restore_afterwards: false,
          }),
      send_images: true,
      save_images: false,
    };
  };

  /** `{images, info}` → `{created, data: [{b64_json, seed}]}`; extra images (grids, masks) are dropped. */
  const toImagesResponse = (answer: unknown, n: number) =>
    expectRecord(backendId, answer, "response").pipe(
      Effect.flatMap((response) => {
        const images = Array.isArray(response.images)
          ? response.images.filter((i) => typeof i === "string")
          : [];
        if (images.length < n)
          return Effect.fail(rejected(502, `expected ${n} images, got ${images.length}`));
        const seeds = readSeeds(response.info);
        const data = images.slice(0, n).map((image, i) => ({
          b64_json: image.replace(/^data:image\/\w+;base64,/, ""),
          ...(seeds[i] === undefined ? {} : { seed: seeds[i] }),
        }));
        return Effect.succeed({ created: Math.floor(now() / 1000), data } as Record<string, unknown>);
      }),
    );

  const outpaintRequest = (
    image: string,
    padding: OutpaintPadding,
    size: { width: number; height: number } | undefined,
  ) =>
    // Decoding, scaling, building the canvas and encoding run a band of rows at a time (see
    // `decodePngAsync`): a large source does not hold the event loop the node's other relays wait on.
    Effect.tryPromise({
      try: async () => {
        const decoded = await decodePngAsync(Buffer.from(image, "base64"));
        const fitted = await fitOutpaintSourceAsync(decoded, padding, size);
        const { canvas, mask } = await outpaintCanvasAsync(fitted, padding);
        return {
          canvas: base64(await encodePngAsync(canvas)),
          mask: base64(await encodePngAsync(mask)),
          width: canvas.width,
          height: canvas.height,
        };
      },
      catch: (error) =>
        rejected(
          400,
          `image is not a readable PNG: ${error instanceof Error ? error.message : String(error)}`,
        ),
    });

  const imagesEdits = Effect.fnUntraced(function* (body: Record<string, unknown>) {
    const image = typeof body.image === "string" ? body.image : "";
    if (image === "") return yield* rejected(400, "image is required");
    const mask = typeof body.mask === "string" ? body.mask : null;
    const padding = (typeof body.padding === "object" ? body.padding : null) as OutpaintPadding | null;
    const size = parseSize(body.size);
    const mode = imageEditMode({ mask, padding });
    const n = num(body.n, 1);
    let request: Record<string, unknown>;
    if (mode === "outpainting" && padding !== null) {
      const built = yield* outpaintRequest(image, padding, size);
      request = {
        ...common(body, built),
        init_images: [built.canvas],
        mask: built.mask,
        // The border holds only repeated edge pixels, nothing worth keeping: repaint it fully by default.
        denoising_strength: num(body.strength, 1),
        inpainting_fill: 1,
        inpaint_full_res: false,
        inpainting_mask_invert: 0,
      };
    } else {
      const own = size ?? pngSize(Buffer.from(image.slice(0, 64), "base64")) ?? DEFAULT_SIZE;
      request = {
        ...common(body, own),
        init_images: [image],
        denoising_strength: num(body.strength, 0.75),
        ...(mode === "inpainting"
          ? { mask, inpainting_fill: 1, inpaint_full_res: false, inpainting_mask_invert: 0 }
          : {}),
      };
    }
    const answer = yield* requestJson(target, "POST", "/sdapi/v1/img2img", request);
    return yield* toImagesResponse(answer, n);
  });

  return {
    id: backendId,
    kind: "a1111",
    capabilities: ENGINE_CAPABILITIES.a1111,
    completions: notText,
    chatCompletions: notText,
    stream: () => Stream.fail(rejected(501, "AUTOMATIC1111 serves images only")),
    imagesGenerations: (body) => {
      const request = common(body, parseSize(body.size) ?? DEFAULT_SIZE);
      return requestJson(target, "POST", "/sdapi/v1/txt2img", request).pipe(
        Effect.flatMap((answer) => toImagesResponse(answer, request.batch_size)),
      );
    },
    imagesEdits,
    tokenize: notText,
    health: () => Effect.asVoid(requestJson(target, "GET", "/sdapi/v1/options")),
  };
}

/** A1111 puts the seeds in `info`, a JSON string: `{"seed": 1, "all_seeds": [1, 2]}`. */
function readSeeds(info: unknown): number[] {
  if (typeof info !== "string") return [];
  try {
    const parsed = JSON.parse(info) as { all_seeds?: unknown; seed?: unknown };
    if (Array.isArray(parsed.all_seeds))
      return parsed.all_seeds.filter((s): s is number => typeof s === "number");
    return typeof parsed.seed === "number" ? [parsed.seed] : [];
  } catch {
    return [];
  }
}
