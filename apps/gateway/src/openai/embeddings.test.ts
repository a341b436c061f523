import { unpackEmbedding } from "@pocket-ai/protocol";
import type OpenAI from "openai";
import type { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

const asApiError = (e: unknown) => e as APIError;
const lastRequest = () => t.dispatcher.requests.at(-1)!;
const usageOf = (keyId: string) => t.admin.admin.usage.byKey.query({ keyId });
const MODEL = "nomic-embed-text";

describe("/v1/embeddings through the front door", () => {
  it("float vectors for a batch, in input order, priced per call; the relay asks for neither format nor size", async () => {
    const { openai, key } = await t.newKey();
    const answer = await openai.embeddings.create({
      model: MODEL,
      input: ["first text", "second one here"],
      encoding_format: "float",
    });
    expect(answer.model).toBe("nomic-embed-text:standard");
    expect(answer.data.map((d) => d.index)).toEqual([0, 1]);
    expect(answer.data[0]?.embedding).toHaveLength(768);
    expect(answer.data[0]?.embedding[0]).toBe(1);
    expect(answer.data[1]?.embedding[1]).toBe(1);
    expect(answer.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
    expect(lastRequest()).toMatchObject({
      operation: "embeddings",
      body: { input: ["first text", "second one here"] },
    });
    expect(lastRequest().body).not.toHaveProperty("encoding_format");
    expect(await usageOf(key.id)).toMatchObject({ requests: 1, spentMicroUsd: 50, reservedMicroUsd: 0 });
  });

  it("base64: the SDK's default, decoded by the SDK; raw callers get little-endian float32 base64", async () => {
    const { openai, secret } = await t.newKey();
    const decoded = await openai.embeddings.create({ model: MODEL, input: "one string" });
    expect(decoded.data).toHaveLength(1);
    expect(decoded.data[0]?.embedding.slice(0, 2)).toEqual([1, 0]);
    const raw = await fetch(`${t.gateway.url}/v1/embeddings`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: ["a", "b"], encoding_format: "base64" }),
    });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    expect(typeof body.data[1]?.embedding).toBe("string");
    expect(unpackEmbedding(body.data[1]!.embedding)?.slice(0, 3)).toEqual([0, 1, 0]);
  });

  it("limits each input of a batch, not their sum; refuses too many inputs, other sizes, token arrays and empty texts", async () => {
    const { openai } = await t.newKey();
    const before = t.dispatcher.requests.length;
    // 64 inputs of 400 words: 25,600 words in all, each input under the 512-token limit.
    const batch = await openai.embeddings.create({
      model: MODEL,
      input: Array.from({ length: 64 }, (_, i) => `${i} ${"word ".repeat(399)}`),
      encoding_format: "float",
    });
    expect(batch.data).toHaveLength(64);
    const refused = async (body: Record<string, unknown>) =>
      openai.embeddings
        .create({ model: MODEL, input: "x", ...body } as OpenAI.EmbeddingCreateParams)
        .then(() => undefined, asApiError);
    const long = await refused({ input: ["short", "word ".repeat(600)] });
    expect({ code: long?.code, param: long?.param }).toEqual({ code: "INPUT_TOO_LONG", param: "input" });
    const many = await refused({ input: Array.from({ length: 65 }, () => "x") });
    expect(many?.code).toBe("TOO_MANY_INPUTS");
    const size = await refused({ dimensions: 256 });
    expect({ code: size?.code, param: size?.param, status: size?.status }).toEqual({
      code: "UNSUPPORTED_PARAMETER",
      param: "dimensions",
      status: 400,
    });
    // Token ids (what tiktoken-based clients send) are refused by name; empty texts as OpenAI does.
    for (const input of [
      [1, 2, 3],
      [[1, 2], [3]],
    ]) {
      const tokens = await refused({ input });
      expect({ code: tokens?.code, param: tokens?.param }).toEqual({
        code: "UNSUPPORTED_PARAMETER",
        param: "input",
      });
    }
    const empty = await refused({ input: "" });
    expect({ code: empty?.code, param: empty?.param }).toEqual({ code: "INVALID_REQUEST", param: "input" });
    const emptyItem = await refused({ input: ["a", ""] });
    expect({ code: emptyItem?.code, param: emptyItem?.param }).toEqual({
      code: "INVALID_REQUEST",
      param: "input[1]",
    });
    expect((await refused({ model: "llama-2-13b" }))?.code).toBe("UNSUPPORTED_OPERATION");
    const chat = await openai.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, asApiError);
    expect(chat?.code).toBe("UNSUPPORTED_OPERATION");
    // The tier's own size is accepted.
    await expect(refused({ dimensions: 768 })).resolves.toBeUndefined();
    expect(t.dispatcher.requests.length).toBe(before + 2);
  });

  it("GET /v1/models lists the embedding service with its limits and per-call price", async () => {
    const { openai } = await t.newKey();
    const model = (await openai.models.retrieve(MODEL)) as OpenAI.Model & { pocket: Record<string, unknown> };
    expect(model.pocket).toMatchObject({
      kind: "embedding",
      operations: ["embeddings"],
      price_micro_usd: 50,
      price_unit: "call",
      limits: { maxTokensPerInput: 512, maxInputs: 64, dimensions: 768 },
    });
  });
});
