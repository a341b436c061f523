import { type FakeComfyUi, startFakeComfyUi } from "@pocket-ai/node/fakes";
import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "./support/api-refusal.js";
import {
  expectImageRelaySettled,
  gradient,
  lastWorkflowNode as lastNodeOf,
  leftHalfMask,
  pixel,
  workflowNodes,
} from "./support/comfyui-checks.js";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";

/**
 * Stable Diffusion through ComfyUI, end to end: the official `openai` client, a real gateway, a
 * real node whose image service is the ComfyUI backend, and a ComfyUI-shaped server on loopback
 * that validates and runs the node's workflow (`@pocket-ai/node/fakes`). txt2img (base64 and
 * gateway-served URLs), img2img, inpainting and outpainting; each picture decoded, its size and
 * the workflow ComfyUI received checked, each relay found in the gateway's ledger, priced and
 * claimable by its node; ComfyUI's validation and run failures reach the client as stable codes.
 */

let fake: FakeComfyUi;
let net: LiveNetwork;
let client: OpenAI;
let keyId: string;

/** The checkpoint the fake ComfyUI has installed. */
const CHECKPOINT = "sd15.safetensors";
beforeAll(async () => {
  fake = await startFakeComfyUi();
  expect(fake.checkpoints).toContain(CHECKPOINT);
  net = await startLiveNetwork({
    imageBackends: [{ kind: "comfyui", url: fake.url, model: CHECKPOINT, maxConcurrency: 1 }],
  });
  const key = await net.newKey();
  keyId = key.key.id;
  // No SDK retries: each call below is one relay, so ComfyUI's traffic can be counted.
  client = new OpenAI({ apiKey: key.secret, baseURL: `${net.gateway.url}/v1`, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await net?.close();
  await fake?.close();
});

/** The one node of `type` in the last workflow ComfyUI was sent. */
const lastWorkflowNode = (type: string) => lastNodeOf(fake, type);

const pngFile = (image: RgbaImage, name: string) =>
  toFile(Buffer.from(encodePng(image)), name, { type: "image/png" });
const decodeB64 = (b64: string | undefined) => decodePng(Buffer.from(b64 ?? "", "base64"));

/** The relay behind an answer of the official client: in the ledger, priced, claimable. */
const expectSettled = (
  response: Response,
  operation: string,
  size: { width: number; height: number; n: number },
) => expectImageRelaySettled(net, (name) => response.headers.get(name), operation, size);

describe("Stable Diffusion through a node in front of ComfyUI", () => {
  it("txt2img, base64: the client's prompt, seed, size, steps and n reach ComfyUI's workflow", async () => {
    const { data, response } = await client.images
      .generate({
        model: "stable-diffusion",
        prompt: "a lighthouse at dusk",
        size: "256x192" as "256x256",
        n: 2,
        response_format: "b64_json",
        // Stable Diffusion extras the gateway takes beside OpenAI's fields.
        ...{ seed: 1234, steps: 12, negative_prompt: "fog", cfg_scale: 6.5, sampler: "dpmpp_2m" },
      })
      .withResponse();
    expect(data.data).toHaveLength(2);
    const pictures = (data.data ?? []).map((d) => decodeB64(d.b64_json));
    for (const picture of pictures) expect([picture.width, picture.height]).toEqual([256, 192]);
    // Two pictures of one batch, not one picture twice.
    expect(Buffer.from(pictures[0]!.data).equals(Buffer.from(pictures[1]!.data))).toBe(false);

    expect(lastWorkflowNode("CheckpointLoaderSimple")?.inputs).toEqual({ ckpt_name: CHECKPOINT });
    expect(lastWorkflowNode("EmptyLatentImage")?.inputs).toEqual({ width: 256, height: 192, batch_size: 2 });
    expect(lastWorkflowNode("KSampler")?.inputs).toMatchObject({
      seed: 1234,
      steps: 12,
      cfg: 6.5,
      sampler_name: "dpmpp_2m",
      denoise: 1,
    });
    const texts = workflowNodes(fake, "CLIPTextEncode").map((node) => node.inputs.text);
    expect(texts.sort()).toEqual(["a lighthouse at dusk", "fog"]);
    await expectSettled(response, "images.generations", { width: 256, height: 192, n: 2 });

    // The same seed, the same picture: the seed is ComfyUI's, not one the node made up.
    const again = await client.images.generate({
      model: "stable-diffusion",
      prompt: "a lighthouse at dusk",
      size: "256x192" as "256x256",
      ...{ seed: 1234, steps: 12, negative_prompt: "fog", cfg_scale: 6.5, sampler: "dpmpp_2m" },
    });
    expect(Buffer.from(decodeB64(again.data?.[0]?.b64_json).data)).toEqual(Buffer.from(pictures[0]!.data));
  });

  it('txt2img, "url": the gateway serves ComfyUI\'s picture at the URL it answers', async () => {
    const { data, response } = await client.images
      .generate({
        model: "stable-diffusion",
        prompt: "a red bicycle",
        size: "128x128" as "256x256",
        response_format: "url",
        ...{ seed: 7 },
      })
      .withResponse();
    const url = data.data?.[0]?.url ?? "";
    expect(url).toMatch(/\/v1\/images\/content\/[0-9a-f]{16}-[0-9a-f]{64}\.png$/);
    expect(data.data?.[0]?.b64_json).toBeUndefined();
    const fetched = await fetch(url);
    expect(fetched.status).toBe(200);
    const picture = decodePng(new Uint8Array(await fetched.arrayBuffer()));
    expect([picture.width, picture.height]).toEqual([128, 128]);
    expect(lastWorkflowNode("KSampler")?.inputs.seed).toBe(7);
    await expectSettled(response, "images.generations", { width: 128, height: 128, n: 1 });
  });

  it("img2img: the uploaded source is encoded and sampled at the client's strength", async () => {
    const source = gradient(64, 64);
    const uploadsBefore = fake.uploads.length;
    const { data, response } = await client.images
      .edit({
        image: await pngFile(source, "source.png"),
        prompt: "the same scene in winter",
        size: "64x64" as "256x256",
        ...{ strength: 0.5, seed: 99, steps: 8 },
      })
      .withResponse();
    const picture = decodeB64(data.data?.[0]?.b64_json);
    expect([picture.width, picture.height]).toEqual([64, 64]);
    expect(fake.uploads.length - uploadsBefore).toBe(1);
    expect(lastWorkflowNode("LoadImage")?.inputs.image).toBe(fake.uploads.at(-1));
    expect(lastWorkflowNode("VAEEncode")).toBeDefined();
    expect(lastWorkflowNode("SetLatentNoiseMask")).toBeUndefined();
    expect(lastWorkflowNode("KSampler")?.inputs).toMatchObject({ seed: 99, steps: 8, denoise: 0.5 });
    // Half source, half fresh paint: changed, but not unrelated to the source.
    expect(pixel(picture, 10, 10)).not.toEqual(pixel(source, 10, 10));
    await expectSettled(response, "images.edits", { width: 64, height: 64, n: 1 });
  });

  it("inpainting: OpenAI's mask (transparent = edit) repaints only there; the rest comes back as sent", async () => {
    const source = gradient(64, 64);
    // Left half transparent (to repaint), right half opaque (to keep).
    const mask = leftHalfMask(64, 64);
    const uploadsBefore = fake.uploads.length;
    const { data, response } = await client.images
      .edit({
        image: await pngFile(source, "source.png"),
        mask: await pngFile(mask, "mask.png"),
        prompt: "a red boat on the left",
        size: "64x64" as "256x256",
        ...{ seed: 5, steps: 10, strength: 1 },
      })
      .withResponse();
    const picture = decodeB64(data.data?.[0]?.b64_json);
    expect([picture.width, picture.height]).toEqual([64, 64]);
    expect(fake.uploads.length - uploadsBefore).toBe(2);
    expect(lastWorkflowNode("LoadImageMask")?.inputs).toMatchObject({ image: fake.uploads.at(-1) });
    expect(lastWorkflowNode("SetLatentNoiseMask")).toBeDefined();
    expect(lastWorkflowNode("KSampler")?.inputs).toMatchObject({ seed: 5, steps: 10, denoise: 1 });
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
    await expectSettled(response, "images.edits", { width: 64, height: 64, n: 1 });
  });

  it("outpainting: the source sits inside the padding, the border is painted", async () => {
    const source = gradient(64, 64);
    const { data, response } = await client.images
      .edit({
        image: await pngFile(source, "source.png"),
        prompt: "more of the coast on both sides",
        size: "128x64" as "256x256",
        // The padding travels as a form field holding its JSON, as the gateway reads it.
        ...{ padding: JSON.stringify({ top: 0, right: 32, bottom: 0, left: 32 }), seed: 11, steps: 6 },
      })
      .withResponse();
    const picture = decodeB64(data.data?.[0]?.b64_json);
    expect([picture.width, picture.height]).toEqual([128, 64]);
    expect(lastWorkflowNode("SetLatentNoiseMask")).toBeDefined();
    expect(lastWorkflowNode("KSampler")?.inputs).toMatchObject({ seed: 11, steps: 6, denoise: 1 });
    // The source, unscaled (64x64 fits 128 minus 2×32 by 64), at x 32..95.
    for (const [x, y] of [
      [0, 0],
      [20, 40],
      [63, 63],
    ] as const)
      expect(pixel(picture, x + 32, y)).toEqual(pixel(source, x, y));
    // The border is new paint, not the source's edge pixels repeated.
    expect(pixel(picture, 2, 10)).not.toEqual(pixel(source, 0, 10));
    expect(pixel(picture, 125, 10)).not.toEqual(pixel(source, 63, 10));
    await expectSettled(response, "images.edits", { width: 128, height: 64, n: 1 });
  });

  it("ComfyUI refusing the workflow (node_errors) reaches the client as 400 ENGINE_REJECTED with its reason, once", async () => {
    const before = fake.prompts.length;
    // A sampler name this ComfyUI does not have: ComfyUI's validation refuses the workflow.
    const error = await refusal(
      client.images.generate({
        model: "stable-diffusion",
        prompt: "a lighthouse",
        size: "64x64" as "256x256",
        ...{ sampler: "uni_pc_bh2" },
      }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe("ENGINE_REJECTED");
    expect(error.message).toContain("Prompt outputs failed validation");
    // Which input to change, from ComfyUI's node_errors.
    expect(error.message).toContain("KSampler: Value not in list: sampler_name: 'uni_pc_bh2' not in");
    // Not tried again elsewhere: another ComfyUI would refuse it too.
    expect(fake.prompts.length - before).toBe(1);
    const usage = await net.admin.admin.usage.byKey.query({ keyId });
    expect(usage.reservedMicroUsd).toBe(0);
    // The client's request was at fault, not the node.
    expect(nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text())).toEqual([]);
  });

  it("a workflow that fails inside one ComfyUI is answered by another node's; when all fail, a stable code and no traceback", async () => {
    // A network of its own: two nodes, each in front of its own ComfyUI.
    const fakes = [await startFakeComfyUi(), await startFakeComfyUi()] as const;
    const own = await startLiveNetwork({
      imageBackends: fakes.map((f) => ({ kind: "comfyui", url: f.url, model: f.checkpoints[0] })),
    });
    try {
      const key = await own.newKey();
      const ownClient = new OpenAI({ apiKey: key.secret, baseURL: `${own.gateway.url}/v1`, maxRetries: 0 });
      const generate = () =>
        ownClient.images.generate({
          model: "stable-diffusion",
          prompt: "a lighthouse",
          size: "64x64" as "256x256",
        });
      const [failing, healthy] = fakes;
      failing.failRuns = "CUDA out of memory. Tried to allocate 2.00 GiB";
      // Until the failing ComfyUI has been tried (each relay picks it first with even odds): every
      // relay is still answered, by the healthy one.
      for (let i = 0; i < 30 && failing.prompts.length === 0; i++) {
        const served = healthy.prompts.length;
        const answer = await generate();
        expect(decodeB64(answer.data?.[0]?.b64_json).width).toBe(64);
        expect(healthy.prompts.length - served).toBe(1);
      }
      expect(failing.prompts.length).toBeGreaterThan(0);

      healthy.failRuns = failing.failRuns;
      const spentBefore = (await own.admin.admin.usage.byKey.query({ keyId: key.key.id })).spentMicroUsd;
      const error = await refusal(generate());
      expect(error.status).toBe(502);
      expect(error.code).toBe("BACKEND_UNAVAILABLE");
      expect(error.message).not.toMatch(/\/opt\/ComfyUI|execution\.py|Traceback|CUDA|\bat \S+:\d+/);
      // Nothing delivered, nothing charged.
      const usage = await own.admin.admin.usage.byKey.query({ keyId: key.key.id });
      expect(usage).toMatchObject({ spentMicroUsd: spentBefore, reservedMicroUsd: 0 });
    } finally {
      await own.close();
      await Promise.all(fakes.map((f) => f.close()));
    }
  }, 60_000);
});
