import { decodePng } from "@pocket-ai/png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { KEPT_ENTRY_OVERHEAD_BYTES } from "./expiring-bytes.js";
import { ImageUrlStore, imageIdOf } from "./image-urls.js";

const REPLICA = "0123456789abcdef";

describe("ImageUrlStore", () => {
  it("keeps an image for its time only, then forgets it", () => {
    let now = 1_000;
    const store = new ImageUrlStore({ ttlMs: 60_000, maxBytes: 1_000 }, REPLICA, () => now);
    const id = store.put(Buffer.from("png-bytes"));
    expect(id).toMatch(/^0123456789abcdef-[0-9a-f]{64}$/);
    expect(imageIdOf(`${id}.png`)).toEqual({ id, holder: REPLICA });
    expect(store.get(id)).toMatchObject({ bytes: Buffer.from("png-bytes"), secondsLeft: 60 });
    now += 59_999;
    expect(store.get(id)?.secondsLeft).toBe(1);
    now += 1;
    expect(store.get(id)).toBeUndefined();
    expect(store.stats()).toEqual({ images: 0, bytes: 0 });
    expect(store.get("not-an-id")).toBeUndefined();
  });

  it("never holds more than its byte bound: the oldest images go first", () => {
    // Room for two images of 40 bytes with their overhead, not three.
    const entry = 40 + KEPT_ENTRY_OVERHEAD_BYTES;
    const store = new ImageUrlStore({ ttlMs: 60_000, maxBytes: 3 * entry - 1 }, REPLICA, () => 0);
    const first = store.put(Buffer.alloc(40));
    const second = store.put(Buffer.alloc(40));
    const third = store.put(Buffer.alloc(40));
    expect(store.get(first)).toBeUndefined();
    expect(store.get(second)).toBeDefined();
    expect(store.get(third)).toBeDefined();
    expect(store.stats()).toEqual({ images: 2, bytes: 2 * entry });
  });
});

describe("imageIdOf", () => {
  const token = "ab".repeat(32);
  it("reads the holder's id from a well-formed name", () => {
    expect(imageIdOf(`${REPLICA}-${token}.png`)).toEqual({ id: `${REPLICA}-${token}`, holder: REPLICA });
  });

  it("refuses anything else: no character beyond hex and one dash can name a peer's path", () => {
    for (const name of [
      `${REPLICA}-${token}`,
      `${REPLICA}-${token}.png.png`,
      `${REPLICA.toUpperCase()}-${token}.png`,
      `${REPLICA}-${token.slice(2)}.png`,
      `${REPLICA}0-${token}.png`,
      `${token}.png`,
      `${REPLICA}-${token}.png?x=1`,
      `../${REPLICA}-${token}.png`,
      `${REPLICA}-${token}/../../health.png`,
      `${REPLICA}%2F..-${token}.png`,
      `${REPLICA}-${token}%0d%0ax-injected:1.png`,
      `${REPLICA}-${token}\r\nx: 1.png`,
      "",
      ".png",
    ]) {
      expect(imageIdOf(name), name).toBeUndefined();
    }
  });
});

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

describe('images with response_format: "url"', () => {
  it("answers URLs served by the gateway, with the same PNG bytes and the same price as b64_json", async () => {
    const { openai, key } = await t.newKey();
    const answer = await openai.images.generate({
      model: "stable-diffusion",
      prompt: "a lighthouse",
      n: 2,
      size: "512x512",
      response_format: "url",
    });
    expect(t.dispatcher.requests.at(-1)?.body).not.toHaveProperty("response_format");
    const urls = (answer.data ?? []).map((d) => d.url ?? "");
    expect(urls).toHaveLength(2);
    expect(answer.data?.[0]?.b64_json).toBeUndefined();
    for (const url of urls)
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/images\/content\/[0-9a-f]{16}-[0-9a-f]{64}\.png$/);
    expect(urls[0]).not.toBe(urls[1]);
    const fetched = await fetch(urls[0]!);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("content-type")).toBe("image/png");
    expect(fetched.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
    const png = decodePng(new Uint8Array(await fetched.arrayBuffer()));
    expect([png.width, png.height]).toEqual([8, 8]);
    expect((await t.admin.admin.usage.byKey.query({ keyId: key.id })).spentMicroUsd).toBe(36_000);

    const b64 = await openai.images.generate({ model: "stable-diffusion", prompt: "a lighthouse", n: 1 });
    expect(b64.data?.[0]?.b64_json).toBe(
      Buffer.from(await (await fetch(urls[1]!)).arrayBuffer()).toString("base64"),
    );
  });

  it("an unknown or expired image URL is a 404 with IMAGE_URL_EXPIRED", async () => {
    const otherReplica = `${"7".repeat(16)}-${"0".repeat(64)}`;
    for (const id of ["0".repeat(64), "nope", "x%2F..%2Fhealth", otherReplica]) {
      const answer = await fetch(`${t.gateway.url}/v1/images/content/${id}.png`);
      expect(answer.status).toBe(404);
      const body = (await answer.json()) as {
        error: { code: string; message: string; request_id: string };
      };
      expect(body.error.code).toBe("IMAGE_URL_EXPIRED");
      expect(body.error.request_id).toBe(answer.headers.get("x-request-id"));
      if (id === otherReplica) expect(body.error.message).toMatch(/replica named in this URL is not running/);
    }
    // One process on SQLite has no peers: nothing was asked of anyone.
    const metrics = await (await fetch(`${t.gateway.url}/metrics`)).text();
    expect(metrics).not.toMatch(/^pocket_gateway_image_peer_fetches_total\{/m);
  });
});
