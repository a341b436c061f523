import { encodePng } from "@pocket-ai/png";
import { APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { UploadDecodes } from "./upload-decodes.js";

// The real decoder, watched: how many decodes run at once, and, while `held` is set, each waits
// for it before it starts (so a test holds the gateway's slots taken for as long as it needs).
const decodes = vi.hoisted(() => ({ running: 0, peak: 0, held: undefined as Promise<void> | undefined }));
vi.mock("@pocket-ai/png", async (importOriginal) => {
  const real = await importOriginal<typeof import("@pocket-ai/png")>();
  return {
    ...real,
    decodePngAsync: async (...args: Parameters<typeof real.decodePngAsync>) => {
      decodes.running += 1;
      decodes.peak = Math.max(decodes.peak, decodes.running);
      try {
        await decodes.held;
        return await real.decodePngAsync(...args);
      } finally {
        decodes.running -= 1;
      }
    },
  };
});

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ uploadDecodes: { concurrency: 2, queue: 1 } });
}, 30_000);
afterAll(() => t?.close());

const image = Buffer.from(encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) }));

async function edit(openai: Awaited<ReturnType<TestGateway["newKey"]>>["openai"], mask?: Buffer) {
  try {
    await openai.images.edit({
      image: await toFile(image, "image.png", { type: "image/png" }),
      ...(mask === undefined ? {} : { mask: await toFile(mask, "mask.png", { type: "image/png" }) }),
      prompt: "a red door",
      size: "512x512",
    });
    return { status: 200 };
  } catch (error) {
    if (!(error instanceof APIError)) throw error;
    return { status: error.status, code: error.code, retryAfter: error.headers?.get("retry-after") };
  }
}

/** The gateway's uploads waiting for a decoding slot, as `/metrics` reports them. */
async function waiting(): Promise<number> {
  const text = await (await fetch(`${t.gateway.url}/metrics`)).text();
  return Number(/^pocket_gateway_upload_decodes\{state="waiting"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe("decoding uploads", () => {
  it("decodes at most `uploadDecodes.concurrency` at once, queues `queue` more, and refuses the rest with 503 UPLOADS_BUSY", async () => {
    const { openai, key } = await t.newKey();
    let release!: () => void;
    decodes.held = new Promise((resolve) => {
      release = resolve;
    });
    decodes.peak = 0;
    const first = [edit(openai), edit(openai), edit(openai)];
    try {
      // Two decodes started and the third waits for a slot (or, with no cap, started as well).
      while (decodes.running < 2 || (decodes.running < 3 && (await waiting()) < 1))
        await new Promise((resolve) => setImmediate(resolve));
      expect(decodes.running).toBe(2);
      expect(await edit(openai)).toEqual({ status: 503, code: "UPLOADS_BUSY", retryAfter: "1" });
    } finally {
      release();
      decodes.held = undefined;
    }
    expect(await Promise.all(first)).toEqual([{ status: 200 }, { status: 200 }, { status: 200 }]);
    expect(decodes.peak).toBe(2);
    expect(await waiting()).toBe(0);
    // The busy refusal held nothing back and charged nothing.
    expect(await t.admin.admin.usage.byKey.query({ keyId: key.id })).toMatchObject({ reservedMicroUsd: 0 });
  });
});

describe("UploadDecodes", () => {
  it("hands a freed slot to the longest waiting decode, and forgets one whose request went away", async () => {
    const gate = new UploadDecodes({ concurrency: 1, queue: 2 });
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = gate.run(
      () =>
        new Promise<void>((resolve) => {
          finishFirst = resolve;
        }),
    );
    const gone = new AbortController();
    const abandoned = gate.run(async () => order.push("abandoned"), gone.signal);
    const second = gate.run(async () => order.push("second"));
    expect(gate.stats).toEqual({ active: 1, waiting: 2 });
    expect(await gate.run(async () => order.push("third"))).toEqual({ busy: true });
    gone.abort(new Error("the client left"));
    await expect(abandoned).rejects.toThrow("the client left");
    expect(gate.stats).toEqual({ active: 1, waiting: 1 });
    finishFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(["second"]);
    expect(gate.stats).toEqual({ active: 0, waiting: 0 });
  });
});
