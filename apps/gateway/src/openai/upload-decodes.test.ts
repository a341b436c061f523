import { crc32, deflateSync } from "node:zlib";
import { decodePngAsync, encodePng } from "@pocket-ai/png";
import OpenAI, { APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { UploadDecodes } from "./upload-decodes.js";

// The gateway's own cap, watched: how many decodes run at once, and, while `held` is set, each
// waits for it before it starts (so a test holds the slots taken for as long as it needs).
const decodes = { running: 0, peak: 0, held: undefined as Promise<void> | undefined };
class WatchedDecodes extends UploadDecodes {
  override run<A>(application: string, decode: () => Promise<A>, signal?: AbortSignal) {
    return super.run(
      application,
      async () => {
        decodes.running += 1;
        decodes.peak = Math.max(decodes.peak, decodes.running);
        try {
          await decodes.held;
          return await decode();
        } finally {
          decodes.running -= 1;
        }
      },
      signal,
    );
  }
}

/** A gateway whose decodes are watched (`decodes`). */
const watchedGateway = (uploadDecodes: Record<string, number>) =>
  startTestGateway(
    { uploadDecodes },
    { uploadDecodes: (limits, gauge) => new WatchedDecodes(limits, gauge) },
  );

let t: TestGateway;
beforeAll(async () => {
  // One application may have more edits than there are places: the process-wide cap alone.
  t = await watchedGateway({ concurrency: 2, queue: 1, perApplication: 4 });
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
    return {
      status: error.status,
      code: error.code,
      retryAfter: error.headers?.get("retry-after"),
      message: error.message,
    };
  }
}

/** The gateway's uploads waiting for a decoding slot, as `/metrics` reports them. */
async function waiting(gateway: TestGateway = t): Promise<number> {
  const text = await (await fetch(`${gateway.gateway.url}/metrics`)).text();
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
      expect(await edit(openai)).toMatchObject({
        status: 503,
        code: "UPLOADS_BUSY",
        retryAfter: "1",
        message: expect.stringContaining("every image-decoding slot of this gateway is taken"),
      });
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

  it("holds one application (all its keys) to its share of the places, so another application's edit is still admitted", async () => {
    // One slot and three places in the queue: by default one application holds two of the four.
    const g = await watchedGateway({ concurrency: 1, queue: 3 });
    let release!: () => void;
    decodes.held = new Promise((resolve) => {
      release = resolve;
    });
    try {
      const [first, second] = [await g.newKey(), await g.newKey()];
      const other = await g.admin.admin.applications.create.mutate({ name: "Other" });
      const { secret } = await g.admin.admin.keys.create.mutate({ applicationId: other.id, name: "k" });
      const theirs = new OpenAI({ apiKey: secret, baseURL: `${g.gateway.url}/v1`, maxRetries: 0 });
      // One application sends as many edits as the gateway has places, from two of its keys.
      const answered: Awaited<ReturnType<typeof edit>>[] = [];
      const flood = [first, second, first, second].map((k) =>
        edit(k.openai).then((a) => {
          answered.push(a);
          return a;
        }),
      );
      // Each edit is decoding, waiting for a slot, or answered already.
      while (decodes.running + (await waiting(g)) + answered.length < 4)
        await new Promise((resolve) => setImmediate(resolve));
      expect(answered).toHaveLength(2);
      for (const refused of answered)
        expect(refused).toMatchObject({
          status: 503,
          code: "UPLOADS_BUSY",
          retryAfter: "1",
          message: expect.stringContaining("this application's own image edits already hold 2"),
        });
      // The other application's edit gets a place in the queue, behind the first one's.
      let theirsAnswered = false;
      const theirEdit = edit(theirs).finally(() => {
        theirsAnswered = true;
      });
      while (!theirsAnswered && (await waiting(g)) < 2) await new Promise((resolve) => setImmediate(resolve));
      expect(theirsAnswered).toBe(false);
      release();
      expect(await theirEdit).toEqual({ status: 200 });
      expect((await Promise.all(flood)).filter((a) => a.status === 200)).toHaveLength(2);
      expect(await waiting(g)).toBe(0);
      // Once its edits are answered, the application has its places back.
      expect(await edit(first.openai)).toEqual({ status: 200 });
    } finally {
      release();
      decodes.held = undefined;
      await g.close();
    }
  }, 30_000);

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
    const gate = new UploadDecodes({ concurrency: 1, queue: 2, perApplication: 3 });
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = gate.run(
      "app",
      () =>
        new Promise<void>((resolve) => {
          finishFirst = resolve;
        }),
    );
    const gone = new AbortController();
    const abandoned = gate.run("app", async () => order.push("abandoned"), gone.signal);
    const second = gate.run("app", async () => order.push("second"));
    expect(gate.stats).toEqual({ active: 1, waiting: 2, applications: 1 });
    expect(await gate.run("other", async () => order.push("third"))).toEqual({ busy: "gateway", held: 0 });
    gone.abort(new Error("the client left"));
    await expect(abandoned).rejects.toThrow("the client left");
    expect(gate.stats).toEqual({ active: 1, waiting: 1, applications: 1 });
    finishFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(["second"]);
    expect(gate.stats).toEqual({ active: 0, waiting: 0, applications: 0 });
  });

  it("gives one application at most `perApplication` places, decoding and waiting, and each back when it is done or gone", async () => {
    const gate = new UploadDecodes({ concurrency: 1, queue: 3, perApplication: 2 });
    const order: string[] = [];
    let finishFirst!: () => void;
    const first = gate.run(
      "a",
      () =>
        new Promise<void>((resolve) => {
          finishFirst = resolve;
        }),
    );
    const gone = new AbortController();
    const abandoned = gate.run("a", async () => order.push("a, abandoned"), gone.signal);
    // Its share is taken: refused while the queue has room, which another application gets.
    expect(await gate.run("a", async () => order.push("a, third"))).toEqual({ busy: "application", held: 2 });
    const theirs = gate.run("b", async () => order.push("b"));
    expect(gate.stats).toEqual({ active: 1, waiting: 2, applications: 2 });
    // Leaving the queue gives the place back.
    gone.abort(new Error("the client left"));
    await expect(abandoned).rejects.toThrow("the client left");
    const again = gate.run("a", async () => order.push("a, again"));
    expect(gate.stats).toEqual({ active: 1, waiting: 2, applications: 2 });
    // In arrival order, whatever the application.
    finishFirst();
    await Promise.all([first, theirs, again]);
    expect(order).toEqual(["b", "a, again"]);
    expect(gate.stats).toEqual({ active: 0, waiting: 0, applications: 0 });
  });
});
