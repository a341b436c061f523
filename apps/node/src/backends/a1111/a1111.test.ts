import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";
import { countTurns } from "@pocket-ai/png/testing";
import { Cause, Effect, Exit, Option } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { type FakeA1111, startFakeA1111 } from "../../../test/fakes/fake-a1111.js";
import type { Backend, BackendError } from "../backend.js";
import { makeA1111Backend } from "./a1111.js";

const fakes: FakeA1111[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

/** `timeoutMs`: the engine call's own limit (a test of work, not of time, gives it room on a busy machine). */
async function setup(model?: string, timeoutMs = 5_000): Promise<{ fake: FakeA1111; backend: Backend }> {
  const fake = await startFakeA1111();
  fakes.push(fake);
  const config = backendConfig({
    kind: "a1111",
    url: fake.url,
    timeoutMs,
    ...(model === undefined ? {} : { model }),
  });
  return { fake, backend: makeA1111Backend({ ...config, url: fake.url }) };
}

function solid(width: number, height: number, rgba: [number, number, number, number]): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < data.length; p += 4) data.set(rgba, p);
  return { width, height, data };
}
const b64 = (image: RgbaImage) => Buffer.from(encodePng(image)).toString("base64");
const decode = (base64: unknown) => decodePng(Buffer.from(String(base64), "base64"));
const pixel = (image: RgbaImage, x: number, y: number) =>
  Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));

function failure(exit: Exit.Exit<unknown, BackendError>): BackendError {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const error = Cause.failureOption(exit.cause);
  if (Option.isNone(error)) throw new Error(Cause.pretty(exit.cause));
  return error.value;
}

describe("AUTOMATIC1111 backend", () => {
  it("generates images through txt2img", async () => {
    const { fake, backend } = await setup("sd15.safetensors");
    const response = await Effect.runPromise(
      backend.imagesGenerations({
        prompt: "a lighthouse",
        size: "64x48",
        n: 2,
        seed: 5,
        steps: 10,
        cfg_scale: 6,
        sampler: "DPM++ 2M",
      }),
    );
    const data = response.data as { b64_json: string; seed: number }[];
    expect(data.map((item) => item.seed)).toEqual([5, 6]);
    expect(data.map((item) => [decode(item.b64_json).width, decode(item.b64_json).height])).toEqual([
      [64, 48],
      [64, 48],
    ]);
    expect(fake.lastBody("/sdapi/v1/txt2img")).toMatchObject({
      prompt: "a lighthouse",
      negative_prompt: "",
      seed: 5,
      steps: 10,
      cfg_scale: 6,
      width: 64,
      height: 48,
      batch_size: 2,
      sampler_name: "DPM++ 2M",
      override_settings: { sd_model_checkpoint: "sd15.safetensors" },
    });
  });

  it("asks for a random seed with -1 and the default size when none is given", async () => {
    const { fake, backend } = await setup();
    await Effect.runPromise(backend.imagesGenerations({ prompt: "x" }));
    expect(fake.lastBody("/sdapi/v1/txt2img")).toMatchObject({
      seed: -1,
      width: 512,
      height: 512,
      batch_size: 1,
    });
    expect(fake.lastBody("/sdapi/v1/txt2img")).not.toHaveProperty("override_settings");
  });

  it("sends img2img with the init image at its own size", async () => {
    const { fake, backend } = await setup();
    const image = b64(solid(40, 24, [10, 20, 30, 255]));
    const response = await Effect.runPromise(backend.imagesEdits({ prompt: "sunset", image, strength: 0.4 }));
    expect((response.data as unknown[]).length).toBe(1);
    const sent = fake.lastBody("/sdapi/v1/img2img");
    expect(sent).toMatchObject({ init_images: [image], denoising_strength: 0.4, width: 40, height: 24 });
    expect(sent).not.toHaveProperty("mask");
  });

  it("inpaints with the caller's mask and returns only the requested images", async () => {
    const { fake, backend } = await setup();
    const image = b64(solid(32, 32, [0, 0, 255, 255]));
    const mask = b64(solid(32, 32, [255, 255, 255, 255]));
    const response = await Effect.runPromise(
      backend.imagesEdits({ prompt: "a boat", image, mask, size: "32x32" }),
    );
    expect((response.data as unknown[]).length).toBe(1);
    expect(fake.lastBody("/sdapi/v1/img2img")).toMatchObject({
      init_images: [image],
      mask,
      inpainting_fill: 1,
      inpaint_full_res: false,
      denoising_strength: 0.75,
    });
  });

  it("outpaints by sending a padded canvas and a border mask", async () => {
    const { fake, backend } = await setup();
    const image = b64(solid(32, 32, [200, 100, 50, 255]));
    const padding = { top: 8, right: 16, bottom: 8, left: 16 };
    const response = await Effect.runPromise(
      backend.imagesEdits({ prompt: "wider", image, padding, size: "96x64" }),
    );
    expect(decode((response.data as { b64_json: string }[])[0]?.b64_json)).toMatchObject({
      width: 96,
      height: 64,
    });
    const sent = fake.lastBody("/sdapi/v1/img2img")!;
    expect(sent).toMatchObject({
      width: 96,
      height: 64,
      inpainting_fill: 1,
      inpaint_full_res: false,
      denoising_strength: 1,
    });
    const canvas = decode((sent.init_images as string[])[0]);
    const mask = decode(sent.mask);
    expect([canvas.width, canvas.height, mask.width, mask.height]).toEqual([96, 64, 96, 64]);
    expect(pixel(mask, 0, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(mask, 15, 30)).toEqual([255, 255, 255, 255]);
    expect(pixel(mask, 16, 8)).toEqual([0, 0, 0, 255]);
    expect(pixel(mask, 79, 55)).toEqual([0, 0, 0, 255]);
    expect(pixel(mask, 80, 55)).toEqual([255, 255, 255, 255]);
    expect(pixel(mask, 40, 56)).toEqual([255, 255, 255, 255]);
    // The source is scaled into 64x48 and its edge colour is carried into the border.
    expect(pixel(canvas, 48, 32)).toEqual([200, 100, 50, 255]);
    expect(pixel(canvas, 0, 0)).toEqual([200, 100, 50, 255]);
  });

  it("builds an outpainting canvas from a large source without holding the node's event loop", async () => {
    // The turns counted decide it; the call's time limit only has to outlast a busy machine.
    const { fake, backend } = await setup(undefined, 170_000);
    const image = b64(solid(512, 512, [200, 100, 50, 255]));
    const padding = { top: 8, right: 8, bottom: 8, left: 8 };
    const turns = countTurns();
    let beforeEngine: number | undefined;
    fake.onRequestHead((_, path) => {
      if (path === "/sdapi/v1/img2img") beforeEngine ??= turns.count();
    });
    await Effect.runPromise(backend.imagesEdits({ prompt: "wider", image, padding, size: "1040x1040" }));
    turns.stop();
    // Every pass runs in bands of 256 KiB of RGBA or less, a turn after each: the 1 MiB source
    // decoded (4 turns), scaled to 1024x1024, the 1040x1040 canvas and mask built, then each
    // encoded (4 MiB or more each pass: 16 turns or more): the node's other relays ran between them.
    expect(beforeEngine).toBeGreaterThanOrEqual(4 + 4 * 16);
    expect(fake.lastBody("/sdapi/v1/img2img")).toMatchObject({ width: 1040, height: 1040 });
  }, 180_000);

  it("rejects an unreadable outpainting source before calling the engine", async () => {
    const { fake, backend } = await setup();
    const exit = await Effect.runPromiseExit(
      backend.imagesEdits({
        prompt: "x",
        image: "iVBORw0KGgoAAAA",
        padding: { top: 1, right: 1, bottom: 1, left: 1 },
      }),
    );
    expect(failure(exit)).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect(fake.calls["POST /sdapi/v1/img2img"]).toBeUndefined();
  });

  it("maps engine errors and checks health", async () => {
    const { fake, backend } = await setup();
    await Effect.runPromise(backend.health());
    expect(fake.calls["GET /sdapi/v1/options"]).toBe(1);
    fake.faults.fail = { status: 422, detail: "field required: prompt", times: 1 };
    const rejected = failure(await Effect.runPromiseExit(backend.imagesGenerations({ prompt: "x" })));
    expect(rejected).toMatchObject({ _tag: "BackendRejected", status: 422 });
    expect((rejected as { reason: string }).reason).toContain("field required");
    fake.faults.fail = { status: 500, detail: "CUDA out of memory", times: 1 };
    expect(failure(await Effect.runPromiseExit(backend.imagesGenerations({ prompt: "x" })))._tag).toBe(
      "BackendUnavailable",
    );
    fake.faults.unhealthy = true;
    expect(failure(await Effect.runPromiseExit(backend.health()))._tag).toBe("BackendUnavailable");
  });

  it("declares images only and refuses text", async () => {
    const { backend } = await setup();
    expect(backend.capabilities).toMatchObject({
      completions: false,
      chat: false,
      images: { outpaint: true },
    });
    expect(failure(await Effect.runPromiseExit(backend.completions({ prompt: "x" })))).toMatchObject({
      status: 501,
    });
  });
});
