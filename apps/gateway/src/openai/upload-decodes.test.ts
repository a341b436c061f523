import { crc32, deflateSync } from "node:zlib";
import { decodePngAsync, encodePng } from "@pocket-ai/png";
import { APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { UploadDecodes } from "./upload-decodes.js";

// The gateway's own cap, watched: how many decodes run at once, and, while `held` is set, each
// waits for it before it starts (so a test holds the slots taken for as long as it needs).
const decodes = { running: 0, peak: 0, held: undefined as Promise<void> | undefined };
class WatchedDecodes extends UploadDecodes {
  override run<A>(decode: () => Promise<A>, signal?: AbortSignal) {
    return super.run(async () => {
      decodes.running += 1;
      decodes.peak = Math.max(decodes.peak, decodes.running);
      try {
        await decodes.held;
        return await decode();
      } finally {
        decodes.running -= 1;
      }
    }, signal);
  }
}

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway(
    { uploadDecodes: { concurrency: 2, queue: 1 } },
    { uploadDecodes: (limits, gauge) => new WatchedDecodes(limits, gauge) },
  );
}, 30_000);
afterAll(() => t?.close());

const image = Buffer.from(encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) }));

/** One PNG chunk: length, type, body, CRC. */
function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, "latin1");
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)) >>> 0, 8 + body.length);
  return out;
}

/**
 * A 64×64 RGBA mask whose every row is fine but the last, which names filter type 9: a decoder
 * does all of its work before it finds out (at 4096×4096, about a second of CPU).
 */
function failsAtLastRow(): Buffer {
  const side = 64;
  const raw = new Uint8Array((side * 4 + 1) * side);
  raw[(side * 4 + 1) * (side - 1)] = 9;
  const header = new Uint8Array(13);
  new DataView(header.buffer).setUint32(0, side);
  new DataView(header.buffer).setUint32(4, side);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

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

  it("counts a refused upload in the key's requests per minute, and charges nothing for it", async () => {
    const { openai, key } = await t.newKey({ rpm: 2 });
    const crafted = failsAtLastRow();
    await expect(decodePngAsync(crafted)).rejects.toMatchObject({ reason: "corrupt" });
    for (let i = 0; i < 2; i++)
      expect(await edit(openai, crafted)).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
    // The two refusals took the key's two requests of this minute: a third is not decoded.
    const relayed = t.dispatcher.requests.length;
    decodes.peak = 0;
    expect(await edit(openai)).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect(decodes.peak).toBe(0);
    expect(t.dispatcher.requests.length).toBe(relayed);
    expect(await t.admin.admin.usage.byKey.query({ keyId: key.id })).toMatchObject({
      spentMicroUsd: 0,
      reservedMicroUsd: 0,
      tokens: 0,
      window: { requests: 2, tokens: 0 },
    });
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
