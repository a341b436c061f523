import { createOpenAI } from "@ai-sdk/openai";
import { type FakeComfyUi, startFakeComfyUi } from "@pocket-ai/node/fakes";
import { decodePng, encodePng } from "@pocket-ai/png";
import { APICallError, generateImage } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectImageRelaySettled,
  gradient,
  lastWorkflowNode,
  leftHalfMask,
  pixel,
  workflowNodes,
} from "./support/comfyui-checks.js";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";

/**
 * Stable Diffusion through ComfyUI as a Vercel AI SDK application uses it: `generateImage` with
 * `@ai-sdk/openai`'s image model, a real gateway, a real node whose image service is the ComfyUI
 * backend, and the ComfyUI-shaped fake. txt2img (one picture, a batch, and `n` split over calls
 * as the SDK does for a model it does not know), img2img and inpainting through the SDK's
 * `prompt: { images, mask }` (OpenAI's multipart edit form), the OpenAI image options the SDK can
 * send, and ComfyUI's refusal as the SDK reports it. Every request the SDK sends is recorded, so
 * what it sends by default is checked, not assumed.
 */

let fake: FakeComfyUi;
let net: LiveNetwork;
let secret: string;
let keyId: string;
/** The bodies the SDK sent: JSON for generations, the form's fields (files as their type) for edits. */
const sent: Record<string, unknown>[] = [];

/** Records each request body, then sends it as it was (`extra` fields added to JSON bodies). */
const recordingFetch =
  (extra: Record<string, unknown> = {}): typeof fetch =>
  async (input, init) => {
    const body = init?.body;
    if (typeof body === "string") {
      const json = { ...(JSON.parse(body) as Record<string, unknown>), ...extra };
      sent.push(json);
      return fetch(input, { ...init, body: JSON.stringify(json) });
    }
    if (body instanceof FormData)
      sent.push(
        Object.fromEntries([...body.entries()].map(([k, v]) => [k, typeof v === "string" ? v : v.type])),
      );
    return fetch(input, init);
  };

const imageModel = (extra?: Record<string, unknown>) =>
  createOpenAI({ apiKey: secret, baseURL: `${net.gateway.url}/v1`, fetch: recordingFetch(extra) }).image(
    "stable-diffusion",
  );
/** The headers of one SDK call's answer, as a lookup. */
const headersOf = (response: { headers?: Record<string, string> } | undefined) => (name: string) =>
  response?.headers?.[name];
/** The gateway's `{ error: { code, param } }` an SDK error carries in its response body. */
const gatewayError = (error: APICallError) =>
  (JSON.parse(error.responseBody ?? "{}") as { error?: { code?: string; param?: string } }).error;

async function sdkError(call: Promise<unknown>): Promise<APICallError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  // An APICallError itself, not a RetryError around several: the SDK did not retry.
  if (!APICallError.isInstance(error)) throw new Error(`expected an APICallError, got ${String(error)}`);
  return error;
}

beforeAll(async () => {
  // The SDK's warnings are read from its results here, not printed.
  (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
  fake = await startFakeComfyUi();
  net = await startLiveNetwork({
    imageBackends: [{ kind: "comfyui", url: fake.url, model: fake.checkpoints[0], maxConcurrency: 1 }],
  });
  const key = await net.newKey();
  secret = key.secret;
  keyId = key.key.id;
}, 60_000);
afterAll(async () => {
  await net?.close();
  await fake?.close();
});

describe("Stable Diffusion through ComfyUI with the Vercel AI SDK", () => {
  it("generateImage: a PNG of the asked size from what the SDK sends by default, relay settled and claimable", async () => {
    const before = sent.length;
    const result = await generateImage({
      model: imageModel(),
      prompt: "a lighthouse at dusk",
      size: "128x64",
      maxRetries: 0,
    });
    // The SDK's whole request: OpenAI's fields, asking for base64.
    expect(sent.slice(before)).toEqual([
      {
        model: "stable-diffusion",
        prompt: "a lighthouse at dusk",
        n: 1,
        size: "128x64",
        response_format: "b64_json",
      },
    ]);
    expect(result.images).toHaveLength(1);
    expect(result.image.mediaType).toBe("image/png");
    const picture = decodePng(result.image.uint8Array);
    expect([picture.width, picture.height]).toEqual([128, 64]);
    expect(lastWorkflowNode(fake, "EmptyLatentImage")?.inputs).toEqual({
      width: 128,
      height: 64,
      batch_size: 1,
    });
    expect(workflowNodes(fake, "CLIPTextEncode").map((node) => node.inputs.text)).toContain(
      "a lighthouse at dusk",
    );
    await expectImageRelaySettled(net, headersOf(result.responses[0]), "images.generations", {
      width: 128,
      height: 64,
      n: 1,
    });
  });

  it("n: 2 is one batch of two with maxImagesPerCall: 2 (priced as two), two relays of one by the SDK's default", async () => {
    const model = imageModel();
    const prompts = fake.prompts.length;
    const batch = await generateImage({
      model,
      prompt: "two boats",
      size: "512x512",
      n: 2,
      maxImagesPerCall: 2,
      maxRetries: 0,
    });
    expect(fake.prompts.length - prompts).toBe(1);
    expect(sent.at(-1)).toMatchObject({ n: 2 });
    expect(lastWorkflowNode(fake, "EmptyLatentImage")?.inputs).toEqual({
      width: 512,
      height: 512,
      batch_size: 2,
    });
    expect(batch.responses).toHaveLength(1);
    const pictures = batch.images.map((image) => decodePng(image.uint8Array));
    expect(pictures.map((p) => [p.width, p.height])).toEqual([
      [512, 512],
      [512, 512],
    ]);
    // Two pictures of one batch, not one picture twice.
    expect(Buffer.from(pictures[0]!.data).equals(Buffer.from(pictures[1]!.data))).toBe(false);
    await expectImageRelaySettled(net, headersOf(batch.responses[0]), "images.generations", {
      width: 512,
      height: 512,
      n: 2,
    });

    // The SDK knows no batch size for a model it does not know: one image per call.
    const split = await generateImage({ model, prompt: "two boats", size: "512x512", n: 2, maxRetries: 0 });
    expect(fake.prompts.length - prompts).toBe(3);
    expect(sent.slice(-2).map((body) => body.n)).toEqual([1, 1]);
    expect(split.images).toHaveLength(2);
    const relays = await Promise.all(
      split.responses.map((response) =>
        expectImageRelaySettled(net, headersOf(response), "images.generations", {
          width: 512,
          height: 512,
          n: 1,
        }),
      ),
    );
    expect(new Set(relays).size).toBe(2);
  });

  it("img2img: prompt { text, images } is OpenAI's edit form; the source is encoded and sampled at the node's default strength", async () => {
    const source = gradient(64, 64);
    const uploads = fake.uploads.length;
    const result = await generateImage({
      model: imageModel(),
      prompt: { text: "the same scene in winter", images: [encodePng(source)] },
      size: "64x64",
      maxRetries: 0,
    });
    expect(sent.at(-1)).toEqual({
      model: "stable-diffusion",
      prompt: "the same scene in winter",
      image: "image/png",
      n: "1",
      size: "64x64",
    });
    const picture = decodePng(result.image.uint8Array);
    expect([picture.width, picture.height]).toEqual([64, 64]);
    expect(fake.uploads.length - uploads).toBe(1);
    expect(lastWorkflowNode(fake, "LoadImage")?.inputs.image).toBe(fake.uploads.at(-1));
    expect(lastWorkflowNode(fake, "VAEEncode")).toBeDefined();
    expect(lastWorkflowNode(fake, "SetLatentNoiseMask")).toBeUndefined();
    // The SDK has no `strength`: the node samples at its default, 0.75.
    expect(lastWorkflowNode(fake, "KSampler")?.inputs.denoise).toBe(0.75);
    expect(pixel(picture, 10, 10)).not.toEqual(pixel(source, 10, 10));
    await expectImageRelaySettled(net, headersOf(result.responses[0]), "images.edits", {
      width: 64,
      height: 64,
      n: 1,
    });
  });

  it("inpainting: prompt { text, images, mask } repaints where OpenAI's mask is transparent, keeps the rest", async () => {
    const source = gradient(64, 64);
    const uploads = fake.uploads.length;
    const result = await generateImage({
      model: imageModel(),
      prompt: {
        text: "a red boat on the left",
        images: [encodePng(source)],
        mask: encodePng(leftHalfMask(64, 64)),
      },
      size: "64x64",
      maxRetries: 0,
    });
    expect(sent.at(-1)).toMatchObject({ image: "image/png", mask: "image/png" });
    const picture = decodePng(result.image.uint8Array);
    expect([picture.width, picture.height]).toEqual([64, 64]);
    expect(fake.uploads.length - uploads).toBe(2);
    expect(lastWorkflowNode(fake, "LoadImageMask")?.inputs).toMatchObject({ image: fake.uploads.at(-1) });
    expect(lastWorkflowNode(fake, "SetLatentNoiseMask")).toBeDefined();
    for (const [x, y] of [
      [40, 5],
      [63, 63],
      [33, 30],
    ] as const)
      expect(pixel(picture, x, y)).toEqual(pixel(source, x, y));
    for (const [x, y] of [
      [5, 5],
      [30, 60],
    ] as const)
      expect(pixel(picture, x, y)).not.toEqual(pixel(source, x, y));
    await expectImageRelaySettled(net, headersOf(result.responses[0]), "images.edits", {
      width: 64,
      height: 64,
      n: 1,
    });
  });

  it("providerOptions.openai: `user` and `safetyIdentifier` pass (dropped before any node); DALL·E and GPT Image options are refused as 400 UNSUPPORTED_PARAMETER naming the field, before any node", async () => {
    const withUser = await generateImage({
      model: imageModel(),
      prompt: "a lighthouse",
      size: "64x64",
      providerOptions: { openai: { user: "end-user-7", safetyIdentifier: "hashed-user" } },
      maxRetries: 0,
    });
    expect(sent.at(-1)).toMatchObject({ user: "end-user-7", safety_identifier: "hashed-user" });
    expect(decodePng(withUser.image.uint8Array).width).toBe(64);

    const prompts = fake.prompts.length;
    const refused: [Record<string, string | number>, string][] = [
      [{ quality: "hd" }, "quality"],
      [{ quality: "medium" }, "quality"],
      [{ style: "vivid" }, "style"],
      [{ background: "transparent" }, "background"],
      [{ outputFormat: "webp" }, "output_format"],
      [{ outputCompression: 80 }, "output_compression"],
      [{ moderation: "low" }, "moderation"],
    ];
    for (const [options, param] of refused) {
      const error = await sdkError(
        generateImage({
          model: imageModel(),
          prompt: "a lighthouse",
          size: "64x64",
          providerOptions: { openai: options },
        }),
      );
      expect([error.statusCode, error.isRetryable, gatewayError(error)]).toEqual([
        400,
        false,
        expect.objectContaining({ code: "UNSUPPORTED_PARAMETER", param }),
      ]);
      expect(error.message).toContain(`\`${param}\``);
    }
    // The same for an edit's form fields.
    const editError = await sdkError(
      generateImage({
        model: imageModel(),
        prompt: { text: "winter", images: [encodePng(gradient(64, 64))] },
        size: "64x64",
        providerOptions: { openai: { inputFidelity: "high" } },
      }),
    );
    expect([editError.statusCode, gatewayError(editError)]).toEqual([
      400,
      expect.objectContaining({ code: "UNSUPPORTED_PARAMETER", param: "input_fidelity" }),
    ]);
    // Refused at the front door: ComfyUI never saw them.
    expect(fake.prompts.length).toBe(prompts);
  });

  it("ComfyUI refusing the workflow (node_errors) reaches the SDK as an APICallError 400 ENGINE_REJECTED, tried once; Stable Diffusion extras only through fetch", async () => {
    // The SDK's OpenAI provider sends OpenAI's fields only (its `seed` is dropped with a warning);
    // Stable Diffusion's extras ride on a fetch wrapper. A sampler this ComfyUI does not have:
    const prompts = fake.prompts.length;
    const error = await sdkError(
      generateImage({
        model: imageModel({ sampler: "uni_pc_bh2" }),
        prompt: "a lighthouse",
        size: "64x64",
        // The SDK's default: two retries for an error it deems retryable.
        maxRetries: 2,
      }),
    );
    expect(error.statusCode).toBe(400);
    expect(error.isRetryable).toBe(false);
    expect(gatewayError(error)?.code).toBe("ENGINE_REJECTED");
    expect(error.message).toContain("Prompt outputs failed validation");
    expect(error.message).toContain("KSampler: Value not in list: sampler_name: 'uni_pc_bh2' not in");
    // Neither the SDK nor the gateway tried again.
    expect(fake.prompts.length - prompts).toBe(1);
    expect((await net.admin.admin.usage.byKey.query({ keyId })).reservedMicroUsd).toBe(0);
    expect(nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text())).toEqual([]);

    // The SDK's own `seed` never leaves it: a warning, and no seed in the request.
    const seeded = await generateImage({
      model: imageModel(),
      prompt: "a lighthouse",
      size: "64x64",
      seed: 1234,
      maxRetries: 0,
    });
    expect(seeded.warnings).toContainEqual(expect.objectContaining({ type: "unsupported", feature: "seed" }));
    expect(sent.at(-1)).not.toHaveProperty("seed");

    // A sampler it has: the extras reach the workflow.
    const result = await generateImage({
      model: imageModel({ sampler: "dpmpp_2m", seed: 1234, steps: 9 }),
      prompt: "a lighthouse",
      size: "64x64",
      maxRetries: 0,
    });
    expect(decodePng(result.image.uint8Array).width).toBe(64);
    expect(lastWorkflowNode(fake, "KSampler")?.inputs).toMatchObject({
      sampler_name: "dpmpp_2m",
      seed: 1234,
      steps: 9,
    });
  });
});
