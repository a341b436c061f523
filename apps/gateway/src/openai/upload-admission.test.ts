import { crc32, deflateSync } from "node:zlib";
import { encodePng, readPngHeader } from "@pocket-ai/png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

const image = encodePng({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(200) });

/** A PNG whose header claims `width`×`height` over a small IDAT (`idat`, default: one row of zeros). */
function claimedPng(width: number, height: number, idat = deflateSync(Buffer.alloc(64))): Buffer {
  const png = Buffer.from(
    encodePng({ width: 1, height: 1, data: new Uint8Array([0, 0, 0, 255]) }, { colorType: 0 }),
  );
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)) >>> 0, 29);
  const ihdrEnd = 8 + 12 + 13;
  const chunk = Buffer.alloc(12 + idat.length);
  chunk.writeUInt32BE(idat.length, 0);
  chunk.write("IDAT", 4, "latin1");
  idat.copy(chunk, 8);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(png.length - 12)]);
}

async function edit(secret: string, mask: Uint8Array, source: Uint8Array = image) {
  const form = new FormData();
  form.set("prompt", "a red door");
  form.set("image", new Blob([source], { type: "image/png" }), "image.png");
  form.set("mask", new Blob([mask], { type: "image/png" }), "mask.png");
  const response = await fetch(`${t.gateway.url}/v1/images/edits`, {
    method: "POST",
    body: form,
    headers: { authorization: `Bearer ${secret}` },
  });
  const body = (await response.json()) as { error?: { code: string; param?: string } };
  return { status: response.status, code: body.error?.code, param: body.error?.param };
}

describe("image uploads are admitted before they are decoded", () => {
  it("reads dimensions from the header alone", () => {
    expect(readPngHeader(claimedPng(70_000, 3))).toMatchObject({ width: 70_000, height: 3 });
    expect(() => readPngHeader(new Uint8Array([1, 2, 3]))).toThrow();
  });

  it("a key without budget is refused before its mask is looked at", async () => {
    const { secret } = await t.newKey({ budgetMicroUsd: 0 });
    // Both would be refused (400) if the gateway looked at the mask before admitting the key.
    for (const mask of [claimedPng(40_000, 40_000), claimedPng(64, 64, Buffer.from("not zlib"))]) {
      expect(await edit(secret, mask)).toMatchObject({ status: 402, code: "BUDGET_EXHAUSTED" });
    }
  });

  it("a header beyond the pixel budget is refused without inflating; a zlib bomb is refused by the cap", async () => {
    const { secret, key } = await t.newKey();
    expect(await edit(secret, claimedPng(40_000, 40_000))).toMatchObject({ status: 400, param: "mask" });
    // 1024×1024 grey claims 1 MB of pixels; the IDAT inflates to 64 MB: refused, not expanded.
    const bomb = claimedPng(1024, 1024, deflateSync(Buffer.alloc(64 * 1024 * 1024)));
    expect(bomb.length).toBeLessThan(100_000);
    expect(await edit(secret, bomb)).toMatchObject({ status: 400, code: "INVALID_REQUEST", param: "mask" });
    // An image nodes could not decode (cut after its header) is the caller's 400, not a node's failure.
    const cut = image.subarray(0, 40);
    expect(await edit(secret, image, cut)).toMatchObject({ status: 400, param: "image" });
    const usage = await t.admin.admin.usage.byKey.query({ keyId: key.id });
    expect(usage).toMatchObject({ spentMicroUsd: 0, reservedMicroUsd: 0 });
    expect(t.dispatcher.requests.some((r) => r.keyId === key.id)).toBe(false);
  });
});

describe("multipart bodies", () => {
  const send = async (secret: string, parts: number) => {
    const form = new FormData();
    form.set("image", new Blob([image], { type: "image/png" }), "image.png");
    for (let i = 1; i < parts; i++) form.append("prompt", "a red door");
    const response = await fetch(`${t.gateway.url}/v1/images/edits`, {
      method: "POST",
      body: form,
      headers: { authorization: `Bearer ${secret}` },
    });
    const body = (await response.json()) as { error?: { code: string; message: string } };
    return { status: response.status, code: body.error?.code, message: body.error?.message };
  };

  it("a body of more than 64 parts is refused before it is parsed, with nothing relayed or billed", async () => {
    const { secret, key } = await t.newKey();
    expect(await send(secret, 64)).toMatchObject({ status: 200 });
    const spent = (await t.admin.admin.usage.byKey.query({ keyId: key.id })).spentMicroUsd;
    const relayed = t.dispatcher.requests.length;
    // Parsed, a 24 MiB body of tiny parts (some 200,000) would hold the event loop for seconds.
    for (const parts of [65, 10_000]) {
      const refused = await send(secret, parts);
      expect(refused).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
      expect(refused.message).toContain("more than 64 parts");
    }
    expect(t.dispatcher.requests.length).toBe(relayed);
    expect(await t.admin.admin.usage.byKey.query({ keyId: key.id })).toMatchObject({
      spentMicroUsd: spent,
      reservedMicroUsd: 0,
    });
  });
});
