import { createOpenAI } from "@ai-sdk/openai";
import { OpenAIEmbeddings } from "@langchain/openai";
import { unpackEmbedding } from "@pocket-ai/protocol";
import { cosineSimilarity, embed, embedMany } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLiveNetwork } from "./support/live-network.js";

/**
 * Embeddings end to end: a real gateway, real nodes on the development backend (signed relays,
 * the ledger, settlement), driven by the official client, LangChain and the Vercel AI SDK.
 */
let net: Awaited<ReturnType<typeof startLiveNetwork>>;
beforeAll(async () => {
  net = await startLiveNetwork({ nodes: 1 });
}, 60_000);
afterAll(() => net?.close());

const MODEL = "nomic-embed-text";
const TEXTS = [
  "the cat sat on the warm mat",
  "a cat was sitting on the mat",
  "quarterly revenue rose by twelve percent",
];

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);

describe("embeddings over the network", () => {
  it("the official client: float and base64 give the same unit vectors; similar texts are closer", async () => {
    const key = await net.newKey();
    const openai = new OpenAI({ apiKey: key.secret, baseURL: `${net.gateway.url}/v1`, maxRetries: 0 });
    const floats = await openai.embeddings.create({ model: MODEL, input: TEXTS, encoding_format: "float" });
    const based = await openai.embeddings.create({ model: MODEL, input: TEXTS, encoding_format: "base64" });
    const vectors = floats.data.map((d) => d.embedding);
    expect(vectors.map((v) => v.length)).toEqual([768, 768, 768]);
    // The relay carries float32: both formats are the same numbers.
    expect(based.data.map((d) => unpackEmbedding(d.embedding as unknown as string))).toEqual(vectors);
    for (const v of vectors) expect(dot(v, v)).toBeCloseTo(1, 5);
    expect(dot(vectors[0]!, vectors[1]!)).toBeGreaterThan(dot(vectors[0]!, vectors[2]!) + 0.2);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    // Deterministic: the same text, the same vector.
    const again = await openai.embeddings.create({
      model: MODEL,
      input: TEXTS[0]!,
      encoding_format: "float",
    });
    expect(again.data[0]?.embedding).toEqual(vectors[0]);
    // Settled like any relay: three calls at the tier's per-call price, and their input tokens
    // counted against the key's tokens (its tokens-per-minute limit), as the client was told.
    const usage = await net.admin.admin.usage.byKey.query({ keyId: key.key.id });
    expect(usage).toMatchObject({ requests: 3, spentMicroUsd: 150, reservedMicroUsd: 0 });
    const told = floats.usage.prompt_tokens + based.usage.prompt_tokens + again.usage.prompt_tokens;
    expect(usage.tokens).toBe(told);
  });

  it("LangChain's OpenAIEmbeddings: embedQuery and embedDocuments", async () => {
    const key = await net.newKey();
    const embeddings = new OpenAIEmbeddings({
      model: MODEL,
      apiKey: key.secret,
      configuration: { baseURL: `${net.gateway.url}/v1` },
      maxRetries: 0,
    });
    const documents = await embeddings.embedDocuments(TEXTS);
    expect(documents).toHaveLength(3);
    const query = await embeddings.embedQuery("cat on a mat");
    expect(query).toHaveLength(768);
    expect(dot(query, documents[0]!)).toBeGreaterThan(dot(query, documents[2]!));
  });

  it("the Vercel AI SDK: embed and embedMany", async () => {
    const key = await net.newKey();
    const model = createOpenAI({ apiKey: key.secret, baseURL: `${net.gateway.url}/v1` }).embedding(MODEL);
    const many = await embedMany({ model, values: TEXTS, maxRetries: 0 });
    expect(many.embeddings).toHaveLength(3);
    const one = await embed({ model, value: TEXTS[1]!, maxRetries: 0 });
    expect(cosineSimilarity(one.embedding, many.embeddings[0]!)).toBeGreaterThan(
      cosineSimilarity(one.embedding, many.embeddings[2]!),
    );
    expect(one.usage.tokens).toBeGreaterThan(0);
  });
});
