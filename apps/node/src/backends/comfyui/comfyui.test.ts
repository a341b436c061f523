import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";
import { countTurns } from "@pocket-ai/png/testing";
import { Cause, Effect, Exit, Fiber, Option } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { type FakeComfyUi, startFakeComfyUi } from "../../../test/fakes/fake-comfyui.js";
import type { Backend, BackendError } from "../backend.js";
import { BackendMisconfigured, makeBackend } from "../make-backend.js";
import { makeComfyUiBackend } from "./comfyui.js";

const fakes: FakeComfyUi[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

/** `timeoutMs`: the engine call's own limit (a test of work, not of time, gives it room on a busy machine). */
async function setup(timeoutMs = 10_000): Promise<{ fake: FakeComfyUi; backend: Backend }> {
  const fake = await startFakeComfyUi();
  fakes.push(fake);
  const config = backendConfig({
    kind: "comfyui",
    url: fake.url,
    timeoutMs,
    model: "sd15.safetensors",
  });
  return { fake, backend: makeComfyUiBackend({ ...config, url: fake.url }) };
}

const gradient = (width: number, height: number): RgbaImage => {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data.set([(x * 255) / width, (y * 255) / height, 90, 255], (y * width + x) * 4);
  return { width, height, data };
};
const b64 = (image: RgbaImage) => Buffer.from(encodePng(image)).toString("base64");
const images = (response: Record<string, unknown>) =>
  (response.data as { b64_json: string; seed?: number }[]).map((d) => ({
    image: decodePng(Buffer.from(d.b64_json, "base64")),
    seed: d.seed,
  }));
const pixel = (image: RgbaImage, x: number, y: number) =>
  Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));
const distance = (a: RgbaImage, b: RgbaImage) => {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) if (i % 4 !== 3) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / ((a.data.length / 4) * 3);
};

function failure(exit: Exit.Exit<unknown, BackendError>): BackendError {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const error = Cause.failureOption(exit.cause);
  if (Option.isNone(error)) throw new Error(Cause.pretty(exit.cause));
  return error.value;
}

describe("the ComfyUI backend", () => {
  it("queues a core-node workflow with the configured checkpoint and returns the asked size and seed", async () => {
    const { fake, backend } = await setup();
    const body = { prompt: "a lighthouse", size: "48x32", seed: 7, steps: 12, cfg_scale: 6, n: 1 };
    const first = images(await Effect.runPromise(backend.imagesGenerations(body)));
    expect(first).toHaveLength(1);
    expect([first[0]!.image.width, first[0]!.image.height, first[0]!.seed]).toEqual([48, 32, 7]);
    const workflow = fake.prompts[0] as Record<
      string,
      { class_type: string; inputs: Record<string, unknown> }
    >;
    const byType = (type: string) => Object.values(workflow).find((n) => n.class_type === type)!;
    expect(byType("CheckpointLoaderSimple").inputs.ckpt_name).toBe("sd15.safetensors");
    expect(byType("KSampler").inputs).toMatchObject({
      seed: 7,
      steps: 12,
      cfg: 6,
      denoise: 1,
      sampler_name: "euler",
    });
    expect(byType("EmptyLatentImage").inputs).toMatchObject({ width: 48, height: 32, batch_size: 1 });
    // Pictures go to ComfyUI's temp folder, not its output folder.
    expect(Object.values(workflow).some((n) => n.class_type === "SaveImage")).toBe(false);
    // Same seed, same picture; another seed, another picture.
    const again = images(await Effect.runPromise(backend.imagesGenerations(body)));
    expect(again[0]!.image.data).toEqual(first[0]!.image.data);
    const other = images(await Effect.runPromise(backend.imagesGenerations({ ...body, seed: 8 })));
    expect(distance(other[0]!.image, first[0]!.image)).toBeGreaterThan(5);
  });

  it("answers a batch with every picture, the seed on the first", async () => {
    const { backend } = await setup();
    const batch = images(
      await Effect.runPromise(backend.imagesGenerations({ prompt: "boats", size: "16x16", seed: 3, n: 2 })),
    );
    expect(batch.map((b) => b.seed)).toEqual([3, undefined]);
    expect(distance(batch[0]!.image, batch[1]!.image)).toBeGreaterThan(0);
  });

  it("moves further from the source as img2img strength grows", async () => {
    const { fake, backend } = await setup();
    const source = gradient(32, 32);
    const at = async (strength: number) =>
      images(
        await Effect.runPromise(
          backend.imagesEdits({ image: b64(source), prompt: "a storm", seed: 5, size: "32x32", strength }),
        ),
      )[0]!.image;
    const d = [
      distance(await at(0), source),
      distance(await at(0.4), source),
      distance(await at(0.9), source),
    ];
    expect(d[0]).toBe(0);
    expect(d[1]).toBeGreaterThan(d[0]!);
    expect(d[2]).toBeGreaterThan(d[1]!);
    // Every edit uploaded its source under a fresh random name.
    expect(new Set(fake.uploads).size).toBe(3);
  });

  it("inpaints only where the mask is white and keeps every other pixel", async () => {
    const { backend } = await setup();
    const source = gradient(24, 24);
    const maskData = new Uint8Array(24 * 24 * 4);
    for (let y = 0; y < 24; y++)
      for (let x = 0; x < 24; x++)
        maskData.set(x >= 12 ? [255, 255, 255, 255] : [0, 0, 0, 255], (y * 24 + x) * 4);
    const mask = { width: 24, height: 24, data: maskData };
    const [out] = images(
      await Effect.runPromise(
        backend.imagesEdits({ image: b64(source), mask: b64(mask), prompt: "fire", seed: 2, strength: 1 }),
      ),
    );
    for (let y = 0; y < 24; y++)
      for (let x = 0; x < 12; x++) expect(pixel(out!.image, x, y)).toEqual(pixel(source, x, y));
    let changed = 0;
    for (let y = 0; y < 24; y++)
      for (let x = 12; x < 24; x++)
        if (pixel(out!.image, x, y).join() !== pixel(source, x, y).join()) changed += 1;
    expect(changed).toBeGreaterThan(100);
  });

  it("decodes, scales and encodes a large source and its mask without holding the node's event loop", async () => {
    // The turns counted decide it; the call's time limit only has to outlast a busy machine.
    const { fake, backend } = await setup(170_000);
    const [image, mask] = [b64(gradient(512, 512)), b64(gradient(512, 512))];
    const turns = countTurns();
    const atUploads: number[] = [];
    fake.onRequestHead = (_, path) => {
      if (path === "/upload/image") atUploads.push(turns.count());
    };
    const [out] = images(
      await Effect.runPromise(backend.imagesEdits({ image, mask, prompt: "x", seed: 2, size: "1024x1024" })),
    );
    turns.stop();
    // Every pass runs in bands of 256 KiB of RGBA or less, a turn after each. Before the first
    // upload: the 1 MiB source decoded (4 turns), scaled to 1024x1024 and encoded (16 turns or more
    // each). Before the second: the 1 MiB mask decoded and read for its transparency (4 each),
    // turned into flags and a 1024x1024 picture (4 and 16), and encoded (16).
    expect(atUploads).toHaveLength(2);
    expect(atUploads[0]).toBeGreaterThanOrEqual(4 + 2 * 16);
    expect(atUploads[1]! - atUploads[0]!).toBeGreaterThanOrEqual(3 * 4 + 2 * 16);
    expect([out!.image.width, out!.image.height]).toEqual([1024, 1024]);
  }, 180_000);

  it("outpaints a padded canvas and keeps the source where the padding put it", async () => {
    const { backend } = await setup();
    const source = gradient(20, 16);
    const padding = { top: 0, right: 8, bottom: 0, left: 4 };
    const [out] = images(
      await Effect.runPromise(
        backend.imagesEdits({ image: b64(source), prompt: "a coast", seed: 4, padding }),
      ),
    );
    expect([out!.image.width, out!.image.height]).toEqual([32, 16]);
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 20; x++) expect(pixel(out!.image, x + 4, y)).toEqual(pixel(source, x, y));
  });

  it("reports ComfyUI's validation errors as a refusal with its message, and refuses odd sampler names itself", async () => {
    const { fake, backend } = await setup();
    fake.checkpoints.splice(0, 1, "another.safetensors");
    const refused = failure(
      await Effect.runPromiseExit(backend.imagesGenerations({ prompt: "x", size: "16x16" })),
    );
    expect(refused).toMatchObject({ _tag: "BackendRejected", status: 400 });
    const reason = (refused as { reason: string }).reason;
    expect(reason).toContain("Prompt outputs failed validation");
    // What failed, from ComfyUI's node_errors: the node type, the input and the choices.
    expect(reason).toContain(
      `CheckpointLoaderSimple: Value not in list: ckpt_name: 'sd15.safetensors' not in ["another.safetensors"]`,
    );
    const before = fake.prompts.length;
    const odd = failure(
      await Effect.runPromiseExit(backend.imagesGenerations({ prompt: "x", sampler: 'euler"; rm -rf' })),
    );
    expect(odd).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect(fake.prompts.length).toBe(before);
  });

  it("removes an interrupted relay's prompt from ComfyUI's queue", async () => {
    const { fake, backend } = await setup();
    fake.hold = true;
    const queued = fake.waitForQueued();
    const fiber = Effect.runFork(backend.imagesGenerations({ prompt: "slow", size: "16x16" }));
    const id = await queued;
    await Effect.runPromise(Fiber.interrupt(fiber));
    expect(fake.cancelled).toContain(id);
  });

  it("removes the prompt of a relay interrupted before ComfyUI answered the queueing call", async () => {
    const { fake, backend } = await setup();
    fake.hold = true;
    fake.stallPromptAnswer = true;
    const queued = fake.waitForQueued();
    const fiber = Effect.runFork(backend.imagesGenerations({ prompt: "slow", size: "16x16" }));
    const id = await queued;
    await Effect.runPromise(Fiber.interrupt(fiber));
    expect(fake.cancelled).toContain(id);
    expect(fake.pendingCount()).toBe(0);
  });

  it("refuses a ComfyUI entry without a checkpoint, or for a text service, at startup", () => {
    const config = backendConfig({ kind: "comfyui", url: "http://127.0.0.1:1" });
    expect(() => makeBackend(config, "image")).toThrow(BackendMisconfigured);
    expect(() => makeBackend({ ...config, model: "sd15.safetensors" }, "text")).toThrow(
      /image services only/,
    );
    expect(makeBackend({ ...config, model: "sd15.safetensors" }, "image").kind).toBe("comfyui");
  });
});
