import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePng, startTestNetwork } from "./e2e-helpers.js";

let t: Awaited<ReturnType<typeof startTestNetwork>>;
beforeAll(async () => {
  t = await startTestNetwork();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe("the local network through the official openai client", () => {
  it("answers a chat completion and says which service and tier served it", async () => {
    const { data, response } = await t.client.chat.completions
      .create({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "What is the capital of France?" }],
        max_tokens: 16,
      })
      .withResponse();
    expect(data.model).toBe("llama-2-13b:standard");
    expect(typeof data.choices[0]?.message.content).toBe("string");
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-pocket-service")).toBe("llama-2-13b");
    expect(response.headers.get("x-pocket-node")).toMatch(/^pokt1/);
  });

  it("scores a prompt with echo and logprobs", async () => {
    const completion = await t.client.completions.create({
      model: "llama-2-13b",
      prompt: "The capital of France is Paris.",
      max_tokens: 0,
      echo: true,
      logprobs: 1,
    });
    const logprobs = completion.choices[0]?.logprobs;
    expect(logprobs?.tokens?.length).toBeGreaterThan(3);
    expect(logprobs?.token_logprobs?.[0]).toBeNull();
    expect(logprobs?.token_logprobs?.slice(1).every((l) => typeof l === "number")).toBe(true);
    expect(completion.choices[0]?.text).toContain("The capital of France is Paris.");
  });

  it("streams with usage when asked, on the batch tier", async () => {
    const stream = await t.client.chat.completions.create({
      model: "llama-2-13b:batch",
      messages: [{ role: "user", content: "Tell me a story about a cat." }],
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeLessThanOrEqual(12);
  });

  it("answers the Responses API and embeddings through the network", async () => {
    const response = await t.client.responses.create({
      model: "llama-2-13b",
      instructions: "Be brief.",
      input: "The capital of France is",
      max_output_tokens: 8,
    });
    expect(response.status === "completed" || response.status === "incomplete").toBe(true);
    expect(response.output_text.length).toBeGreaterThan(0);
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    const texts = ["a cat sat on the mat", "the cat is sitting on a mat", "tax law of the realm"];
    const answer = await t.client.embeddings.create({
      model: "nomic-embed-text",
      input: texts,
      encoding_format: "float",
    });
    const [a, b, c] = answer.data.map((d) => d.embedding);
    const dot = (x: number[], y: number[]) => x.reduce((sum, v, i) => sum + v * (y[i] ?? 0), 0);
    expect(a).toHaveLength(768);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
  });

  it("generates an image and edits one with a mask", async () => {
    const generated = await t.client.images.generate({
      model: "stable-diffusion",
      prompt: "a red boat at night",
      size: "512x512",
    });
    const png = Buffer.from(generated.data?.[0]?.b64_json ?? "", "base64");
    expect(png.readUInt32BE(16)).toBe(512);
    const edited = await t.client.images.edit({
      model: "stable-diffusion",
      image: await toFile(await makePng(256, 256, "image"), "image.png", { type: "image/png" }),
      mask: await toFile(await makePng(256, 256, "mask"), "mask.png", { type: "image/png" }),
      prompt: "a green field",
      size: "256x256",
    });
    const out = Buffer.from(edited.data?.[0]?.b64_json ?? "", "base64");
    expect(out.subarray(1, 4).toString()).toBe("PNG");
    expect(out.readUInt32BE(16)).toBe(256);
  });

  it("refuses a prompt over the tier's input limit with INPUT_TOO_LONG", async () => {
    const error = await t.client.completions
      .create({ model: "llama-2-13b", prompt: "word ".repeat(400), max_tokens: 5 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("INPUT_TOO_LONG");
  });

  it("refuses a bad key and an unknown model with OpenAI's errors", async () => {
    const bad = new OpenAI({
      baseURL: t.net.baseUrl,
      apiKey: "pai_not_a_real_key_at_all_000000000",
      maxRetries: 0,
    });
    await expect(
      bad.chat.completions.create({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const unknown = await t.client.chat.completions
      .create({ model: "gpt-17", messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.APIError>).code).toBe("UNKNOWN_MODEL");
  });

  it("lists what can be served now, with tiers, limits and prices", async () => {
    const models = await t.client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["llama-2-13b", "llama-2-13b:batch", "stable-diffusion"]));
    const standard = models.data.find((m) => m.id === "llama-2-13b:standard") as unknown as {
      pocket: { price_micro_usd: number; limits: { maxInputTokens: number } };
    };
    expect(standard.pocket.price_micro_usd).toBe(750);
    expect(standard.pocket.limits.maxInputTokens).toBe(200);
  });
});
