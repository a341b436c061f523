import { randomInt, randomUUID } from "node:crypto";
import { decodePngAsync, encodePngAsync, type RgbaImage, resizeRgbaAsync } from "@pocket-ai/png";
import { imageEditMode, type OutpaintPadding } from "@pocket-ai/protocol";
import { Duration, Effect, Stream } from "effect";
import type { BackendConfig } from "../../config/node-config.js";
import { type Backend, type BackendError, BackendRejected, BackendUnavailable } from "../backend.js";
import { repaintMaskImageAsync } from "../edit-mask.js";
import { ENGINE_CAPABILITIES } from "../engine-capabilities.js";
import {
  describeFetchFailure,
  type EngineTarget,
  engineHeaders,
  engineIdUrl,
  engineUrl,
  parseEngineJson,
  statusError,
  withEngineTimeout,
} from "../engine-http.js";
import { fitOutpaintSourceAsync, outpaintCanvasAsync, parseSize } from "../outpaint-canvas.js";
import { buildWorkflow, type LatentSource, OUTPUT_NODE, type SamplingFields } from "./workflow.js";

const DEFAULT_SIZE = { width: 512, height: 512 } as const;
/** Sampler and scheduler names are ComfyUI identifiers: nothing else reaches the workflow. */
const IDENTIFIER = /^[a-z0-9_]{1,64}$/;

const text = (value: unknown, fallback: string) => (typeof value === "string" ? value : fallback);
const num = (value: unknown, fallback: number) =>
  typeof value === "number" && Number.isFinite(value) ? value : fallback;

/**
 * ComfyUI's refusal of a workflow names what failed only in `node_errors` (`{id: {class_type,
 * errors: [{message, details}]}}`) beside a generic `error.message` ("Prompt outputs failed
 * validation"): both, joined, so the client learns which input to change. Other bodies pass as sent.
 */
export function comfyUiErrorText(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const { error, node_errors: nodeErrors } = (parsed ?? {}) as { error?: unknown; node_errors?: unknown };
  if (typeof nodeErrors !== "object" || nodeErrors === null) return body;
  const problems = Object.values(nodeErrors).flatMap((node: unknown) => {
    const { class_type: type, errors } = (node ?? {}) as { class_type?: unknown; errors?: unknown };
    if (!Array.isArray(errors)) return [];
    return errors.map((e: unknown) => {
      const { message, details } = (e ?? {}) as { message?: unknown; details?: unknown };
      const what = [message, details].filter((v) => typeof v === "string" && v !== "").join(": ");
      return typeof type === "string" ? `${type}: ${what}` : what;
    });
  });
  if (problems.length === 0) return body;
  const headline = (error as { message?: unknown } | undefined)?.message;
  const message = [typeof headline === "string" ? headline : "", problems.join("; ")]
    .filter((part) => part !== "")
    .join(": ");
  return JSON.stringify({ error: { message } });
}

interface SavedImage {
  readonly filename: string;
  readonly subfolder: string;
  readonly type: string;
}

/**
 * The ComfyUI server API: a workflow of core nodes is queued with `POST /prompt`, its state read
 * from `GET /history/{id}` until it finished, and its pictures fetched from `GET /view`. Edits
 * upload the source (and mask) with `POST /upload/image` under random names first. txt2img,
 * img2img (`strength` = denoise), inpainting (white = repaint, through `SetLatentNoiseMask`) and
 * outpainting (a padded canvas and its mask, as inpainting) share one workflow (`workflow.ts`).
 *
 * `config.model` is the checkpoint file (`ckpt_name`) and is required. Pictures come back through
 * `PreviewImage` (ComfyUI's temp folder, emptied when it restarts) rather than its output folder;
 * uploaded sources stay in ComfyUI's input folder until the operator clears it (see the guide).
 * An interrupted relay removes its prompt from ComfyUI's queue, or stops it if it is running.
 */
export function makeComfyUiBackend(
  config: BackendConfig & { readonly url: string; readonly now?: () => number },
): Backend {
  const now = config.now ?? Date.now;
  const target: EngineTarget = {
    backendId: `comfyui@${engineIdUrl(config.url)}`,
    baseUrl: config.url,
    timeoutMs: config.timeoutMs,
    headers: engineHeaders(config),
  };
  const backendId = target.backendId;
  const rejected = (status: number, reason: string) =>
    new BackendRejected({ backend: backendId, status, reason });
  const notText = () => Effect.fail(rejected(501, "ComfyUI serves images only"));
  const checkpoint = config.model;
  const clientId = randomUUID();

  const call = (path: string, init: RequestInit = {}): Effect.Effect<Response, BackendError> =>
    Effect.tryPromise({
      try: (signal) =>
        fetch(engineUrl(config.url, path), {
          ...init,
          headers: { ...target.headers, ...(init.headers as Record<string, string> | undefined) },
          signal,
        }),
      catch: (cause) => new BackendUnavailable({ backend: backendId, reason: describeFetchFailure(cause) }),
    }).pipe(
      Effect.flatMap((response) =>
        response.ok
          ? Effect.succeed(response)
          : Effect.flatMap(
              Effect.promise(() => response.text()),
              (body) => Effect.fail(statusError(backendId, response.status, comfyUiErrorText(body))),
            ),
      ),
    );
  const json = (path: string, init: RequestInit = {}) =>
    call(path, init).pipe(
      Effect.flatMap((response) => Effect.promise(() => response.text())),
      Effect.flatMap((body) => parseEngineJson(backendId, body)),
    );
  const post = (path: string, body: unknown) =>
    json(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  /**
   * Uploads one PNG under a random name; answers the name `LoadImage` takes. The encoding runs a
   * slice at a time (see `encodePngAsync`), so a large picture does not hold the node's event loop.
   */
  const upload = Effect.fnUntraced(function* (image: RgbaImage) {
    const png = yield* Effect.promise(() => encodePngAsync(image));
    const form = new FormData();
    form.append("image", new Blob([png], { type: "image/png" }), `pocket-${randomUUID()}.png`);
    form.append("type", "input");
    form.append("overwrite", "true");
    const answer = yield* json("/upload/image", { method: "POST", body: form });
    const saved = answer as { name?: unknown; subfolder?: unknown };
    if (typeof saved.name !== "string" || saved.name === "")
      return yield* rejected(502, "upload answered without a file name");
    return typeof saved.subfolder === "string" && saved.subfolder !== ""
      ? `${saved.subfolder}/${saved.name}`
      : saved.name;
  });

  /** The finished run's pictures, or why it failed; `undefined` while it runs. */
  const finished = (promptId: string) =>
    json(`/history/${encodeURIComponent(promptId)}`).pipe(
      Effect.flatMap((history) => {
        const entry = (history as Record<string, unknown>)[promptId] as
          | {
              status?: { status_str?: string; completed?: boolean; messages?: unknown[] };
              outputs?: Record<string, { images?: SavedImage[] }>;
            }
          | undefined;
        if (entry === undefined) return Effect.succeed(undefined);
        if (entry.status?.status_str === "error")
          return Effect.fail(
            new BackendUnavailable({ backend: backendId, reason: "the workflow failed in ComfyUI" }),
          );
        if (entry.status !== undefined && entry.status.completed !== true) return Effect.succeed(undefined);
        return Effect.succeed(entry.outputs?.[OUTPUT_NODE]?.images ?? []);
      }),
    );

  /** Polls the history, 50 ms at first and at most every second, until the run finished. */
  const waitFor = Effect.fnUntraced(function* (promptId: string) {
    let delayMs = 50;
    while (true) {
      const done = yield* finished(promptId);
      if (done !== undefined) return done;
      yield* Effect.sleep(Duration.millis(delayMs));
      delayMs = Math.min(1000, delayMs * 1.5);
    }
  });

  const cancel = (promptId: string) =>
    Effect.all([post("/queue", { delete: [promptId] }), post("/interrupt", { prompt_id: promptId })], {
      concurrency: 2,
      mode: "either",
    }).pipe(Effect.ignore);

  /** Queues the workflow, waits for it, fetches its pictures: `{created, data: [{b64_json, seed}]}`. */
  const run = Effect.fnUntraced(function* (fields: SamplingFields, source: LatentSource, denoise: number) {
    // The node names the prompt itself, so that a relay interrupted while ComfyUI is still
    // answering the queueing call can take it out of the queue all the same.
    const chosenId = randomUUID();
    const queued = yield* post("/prompt", {
      prompt: buildWorkflow(fields, source, denoise),
      client_id: clientId,
      prompt_id: chosenId,
    }).pipe(Effect.onInterrupt(() => cancel(chosenId)));
    // A ComfyUI too old to take the id names the prompt in its answer.
    const promptId = (queued as { prompt_id?: unknown }).prompt_id;
    if (typeof promptId !== "string" || promptId === "")
      return yield* rejected(502, "the prompt was queued without an id");
    const images = yield* waitFor(promptId).pipe(Effect.onInterrupt(() => cancel(promptId)));
    if (images.length < fields.batch)
      return yield* rejected(502, `expected ${fields.batch} images, got ${images.length}`);
    const data = yield* Effect.forEach(images.slice(0, fields.batch), (saved, i) =>
      call(
        `/view?${new URLSearchParams({ filename: saved.filename, subfolder: saved.subfolder, type: saved.type })}`,
      ).pipe(
        Effect.flatMap((response) => Effect.promise(() => response.arrayBuffer())),
        Effect.flatMap((bytes) => {
          const png = new Uint8Array(bytes);
          return png[0] === 0x89 && png[1] === 0x50
            ? Effect.succeed({
                b64_json: Buffer.from(png).toString("base64"),
                // The batch shares one seed: only the first picture is reproduced by it alone.
                ...(i === 0 ? { seed: fields.seed } : {}),
              })
            : Effect.fail(rejected(502, "ComfyUI returned a file that is not a PNG"));
        }),
      ),
    );
    return { created: Math.floor(now() / 1000), data } as Record<string, unknown>;
  });

  const sampling = (body: Record<string, unknown>): Effect.Effect<SamplingFields, BackendRejected> => {
    if (checkpoint === undefined)
      return Effect.fail(rejected(500, "no checkpoint configured (backend `model`)"));
    const sampler = text(body.sampler, "euler");
    const scheduler = text(body.scheduler, "normal");
    if (!IDENTIFIER.test(sampler))
      return Effect.fail(rejected(400, "sampler must be a ComfyUI sampler name"));
    if (!IDENTIFIER.test(scheduler))
      return Effect.fail(rejected(400, "scheduler must be a ComfyUI scheduler name"));
    return Effect.succeed({
      checkpoint,
      prompt: text(body.prompt, ""),
      negativePrompt: text(body.negative_prompt, ""),
      seed: num(body.seed, randomInt(0, 2 ** 31)),
      steps: num(body.steps, 20),
      cfg: num(body.cfg_scale, 7),
      sampler,
      scheduler,
      batch: num(body.n, 1),
    });
  };

  /** Decodes a slice at a time (see `decodePngAsync`): a large upload does not hold the event loop. */
  const decodeUpload = (b64: string, what: string) =>
    Effect.tryPromise({
      try: () => decodePngAsync(Buffer.from(b64, "base64")),
      catch: (error) =>
        rejected(
          400,
          `${what} is not a readable PNG: ${error instanceof Error ? error.message : String(error)}`,
        ),
    });

  const imagesEdits = Effect.fnUntraced(function* (body: Record<string, unknown>) {
    const fields = yield* sampling(body);
    const imageB64 = typeof body.image === "string" ? body.image : "";
    if (imageB64 === "") return yield* rejected(400, "image is required");
    const maskB64 = typeof body.mask === "string" ? body.mask : null;
    const padding = (typeof body.padding === "object" ? body.padding : null) as OutpaintPadding | null;
    const size = parseSize(body.size);
    const source = yield* decodeUpload(imageB64, "image");
    const mode = imageEditMode({ mask: maskB64, padding });
    // Scaling, the canvas and the mask run a band of rows at a time (see `inRowBands`), as the
    // uploads are decoded and encoded: a large picture does not hold the node's other relays.
    if (mode === "outpainting" && padding !== null) {
      const { canvas, mask } = yield* Effect.promise(async () =>
        outpaintCanvasAsync(await fitOutpaintSourceAsync(source, padding, size), padding),
      );
      const [image, maskName] = yield* Effect.all([upload(canvas), upload(mask)], { concurrency: 2 });
      // The border holds only repeated edge pixels: repaint it fully unless asked otherwise.
      return yield* run(fields, { kind: "image", image, mask: maskName }, num(body.strength, 1));
    }
    const fitted =
      size === undefined
        ? source
        : yield* Effect.promise(() => resizeRgbaAsync(source, size.width, size.height));
    const image = yield* upload(fitted);
    let maskName: string | undefined;
    if (mode === "inpainting" && maskB64 !== null) {
      const mask = yield* decodeUpload(maskB64, "mask");
      const picture = yield* Effect.promise(() => repaintMaskImageAsync(mask, fitted.width, fitted.height));
      maskName = yield* upload(picture);
    }
    return yield* run(fields, { kind: "image", image, mask: maskName }, num(body.strength, 0.75));
  });

  const limited = <A>(effect: Effect.Effect<A, BackendError>) => withEngineTimeout(target, effect);

  return {
    id: backendId,
    kind: "comfyui",
    capabilities: ENGINE_CAPABILITIES.comfyui,
    completions: notText,
    chatCompletions: notText,
    stream: () => Stream.fail(rejected(501, "ComfyUI serves images only")),
    imagesGenerations: (body) =>
      limited(
        Effect.flatMap(sampling(body), (fields) =>
          run(fields, { kind: "empty", ...(parseSize(body.size) ?? DEFAULT_SIZE) }, 1),
        ),
      ),
    imagesEdits: (body) => limited(imagesEdits(body)),
    tokenize: notText,
    health: () => Effect.asVoid(json("/system_stats")),
  };
}
