import { decodePng, encodePng } from "@pocket-ai/png";
import { CATALOG_CREATED, DEFAULT_CATALOG, findService } from "@pocket-ai/protocol";
import OpenAI, { type APIError, toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

const unexpected = (): APIError => {
  throw new Error("expected a refusal");
};
const asApiError = (e: unknown) => e as APIError;
const lastRequest = () => t.dispatcher.requests.at(-1)!;
const usageOf = (keyId: string) => t.admin.admin.usage.byKey.query({ keyId });

describe("the OpenAI SDK against the gateway", () => {
  it("chat: answers under the public model name, with Pocket AI headers, and clamps max_tokens", async () => {
    const { openai } = await t.newKey();
    const { data, response } = await openai.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "user", content: "Say hi" }], max_tokens: 5000 })
      .withResponse();
    expect(data.model).toBe("llama-2-13b:standard");
    expect(data.choices[0]?.message.content).toMatch(/relay/);
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-pocket-service")).toBe("llama-2-13b");
    expect(response.headers.get("x-pocket-tier")).toBe("standard");
    expect(response.headers.get("x-pocket-node")).toMatch(/^pokt1/);
    expect(lastRequest().body.max_tokens).toBe(1000);
    expect(lastRequest().operation).toBe("chat.completions");
  });

  it("completions: echo and logprobs pass through to the node and back", async () => {
    const { openai } = await t.newKey();
    const answer = await openai.completions.create({
      model: "mistral-7b:batch",
      prompt: "the capital of France is",
      echo: true,
      logprobs: 1,
      max_tokens: 2,
    });
    expect(lastRequest().body).toMatchObject({ echo: true, logprobs: 1, max_tokens: 2 });
    expect(answer.model).toBe("mistral-7b:batch");
    expect(answer.choices[0]?.logprobs?.tokens?.slice(0, 2)).toEqual(["the", "capital"]);
    expect(answer.choices[0]?.logprobs?.token_logprobs?.[0]).toBeNull();
    // Scoring is offered unary: a streamed one cut short would be billed by output it has none of.
    const before = t.dispatcher.requests.length;
    const streamed = await openai.completions
      .create({
        model: "mistral-7b:batch",
        prompt: "the capital of France is",
        echo: true,
        logprobs: 1,
        max_tokens: 0,
        stream: true,
      })
      .then(unexpected, asApiError);
    expect(streamed).toBeInstanceOf(OpenAI.BadRequestError);
    expect({ code: streamed.code, param: streamed.param }).toEqual({
      code: "UNSUPPORTED_PARAMETER",
      param: "echo",
    });
    expect(t.dispatcher.requests.length).toBe(before);
  });

  it("streams chat; the usage chunk comes only with stream_options.include_usage", async () => {
    const { openai } = await t.newKey();
    const ask = (includeUsage: boolean) =>
      openai.chat.completions.create({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "Count" }],
        max_tokens: 4,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
    const chunks = [];
    for await (const chunk of await ask(true)) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 4 });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("the quick relay carries");
    expect(chunks.every((c) => c.model === "llama-2-13b:standard")).toBe(true);

    const plain = [];
    for await (const chunk of await ask(false)) plain.push(chunk);
    expect(plain.some((c) => c.usage != null)).toBe(false);
    expect(plain).toHaveLength(4);
  });

  it("a stream the node cuts mid-way raises an APIError in the SDK and bills what was delivered", async () => {
    const { openai, key } = await t.newKey();
    t.dispatcher.interruptStreamsAfter = 2;
    const seen: string[] = [];
    const failure = await (async () => {
      const stream = await openai.completions.create({
        model: "llama-2-13b",
        prompt: "Once",
        max_tokens: 8,
        stream: true,
      });
      for await (const chunk of stream) seen.push(chunk.choices[0]?.text ?? "");
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.dispatcher.interruptStreamsAfter = undefined;
    expect(seen).toHaveLength(2);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as APIError).code).toBe("STREAM_INTERRUPTED");
    const usage = await usageOf(key.id);
    // 2 of 8 output tokens delivered: a quarter of the 750 µUSD call, rounded up.
    expect(usage).toMatchObject({ requests: 1, spentMicroUsd: 188, reservedMicroUsd: 0 });
  });

  it("images: generations, and edits uploaded as multipart with the mask normalised", async () => {
    const { openai, key } = await t.newKey();
    const generated = await openai.images.generate({
      model: "stable-diffusion",
      prompt: "a lighthouse",
      n: 2,
      size: "512x512",
    });
    expect(generated.data).toHaveLength(2);
    expect((await usageOf(key.id)).spentMicroUsd).toBe(36_000);

    const image = Buffer.from(
      encodePng({ width: 4, height: 4, data: new Uint8Array(64).fill(90) }, { colorType: 2 }),
    );
    const maskPixels = new Uint8Array(64);
    for (let i = 0; i < 16; i++) maskPixels.set([0, 0, 0, i < 8 ? 0 : 255], i * 4); // top half transparent
    const edited = await openai.images.edit({
      image: await toFile(image, "a.png", { type: "image/png" }),
      mask: await toFile(encodePng({ width: 4, height: 4, data: maskPixels }), "mask.png", {
        type: "image/png",
      }),
      prompt: "add a red boat",
      n: 1,
      size: "512x512",
    });
    expect(edited.data).toHaveLength(1);
    const relayed = lastRequest();
    expect(relayed.operation).toBe("images.edits");
    expect(relayed.body.n).toBe(1);
    expect(relayed.body.image).toBe(image.toString("base64"));
    const mask = decodePng(Buffer.from(relayed.body.mask as string, "base64"));
    const grey = Array.from({ length: 16 }, (_, i) => mask.data[i * 4]);
    expect(grey).toEqual([...new Array(8).fill(255), ...new Array(8).fill(0)]);
  });

  it("lists models with Pocket AI's service, tier, limits, price and available nodes", async () => {
    t.dispatcher.availability.set("llama-2-13b:batch", { nodes: 3 });
    const { openai } = await t.newKey();
    const models = [];
    for await (const model of openai.models.list())
      models.push(model as OpenAI.Model & { pocket: Record<string, unknown> });
    const batch = models.find((m) => m.id === "llama-2-13b:batch")!;
    expect(batch.pocket).toMatchObject({
      service_id: "llama-2-13b",
      service_class: "model",
      tier: "batch",
      price_micro_usd: 500,
      limits: { maxInputTokens: 200, maxOutputTokens: 1000 },
      available_nodes: 3,
    });
    expect(models.find((m) => m.id === "quality-gpt-3.5")?.pocket.service_class).toBe("quality");
  });

  it("answers each model's `created` as its service's date, not the time of the call", async () => {
    const { openai } = await t.newKey();
    const listed = [];
    for await (const model of openai.models.list()) listed.push(model);
    expect(listed.length).toBeGreaterThan(1);
    for (const model of listed) expect(model.created).toBe(CATALOG_CREATED);
    expect((await openai.models.retrieve("mistral-7b-instruct")).created).toBe(CATALOG_CREATED);
    // A service the operator dates answers its own date, on every gateway that reads the same catalog.
    const mistral = findService(DEFAULT_CATALOG, "mistral-7b")!;
    const dated = await startTestGateway({ catalog: { services: [{ ...mistral, created: 1_700_000_000 }] } });
    try {
      const client = (await dated.newKey()).openai;
      expect((await client.models.retrieve("mistral-7b:batch")).created).toBe(1_700_000_000);
      expect((await client.models.retrieve("llama-2-13b")).created).toBe(CATALOG_CREATED);
    } finally {
      await dated.close();
    }
  });
});

describe("refusals in OpenAI's error shape", () => {
  it("401 AuthenticationError for a bad key", async () => {
    const openai = new OpenAI({ apiKey: "pai_nope", baseURL: `${t.gateway.url}/v1`, maxRetries: 0 });
    await expect(
      openai.chat.completions.create({ model: "llama-2-13b", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("404 NotFoundError for an unknown model or tier", async () => {
    const { openai } = await t.newKey();
    for (const model of ["gpt-17", "llama-2-13b:gold"]) {
      const error = await openai.chat.completions
        .create({ model, messages: [{ role: "user", content: "x" }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as APIError).param).toBe("model");
    }
  });

  it("400 BadRequestError naming the bad field; over-long prompts are caught before dispatch", async () => {
    const { openai } = await t.newKey();
    const before = t.dispatcher.requests.length;
    const bad = await openai.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "bot" as "user", content: "x" }] })
      .then(unexpected, asApiError);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad.param).toBe("messages[0].role");
    const long = await openai.completions
      .create({ model: "llama-2-13b", prompt: "word ".repeat(300) })
      .then(unexpected, asApiError);
    expect(long.code).toBe("INPUT_TOO_LONG");
    expect(t.dispatcher.requests.length).toBe(before);
  });

  it("admits a batch of prompts each under the input limit; refuses a chat pushed over it by its tools", async () => {
    const { openai } = await t.newKey();
    const before = t.dispatcher.requests.length;
    const batch = await openai.completions.create({
      model: "llama-2-13b",
      prompt: ["word ".repeat(150), "word ".repeat(150), "word ".repeat(150)],
      max_tokens: 1,
    });
    expect(batch.choices.length).toBeGreaterThan(0);
    expect(t.dispatcher.requests.length).toBe(before + 1);
    const long = await openai.chat.completions
      .create({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "word ".repeat(150) }],
        tools: [{ type: "function", function: { name: "lookup", description: "word ".repeat(60) } }],
      })
      .then(unexpected, asApiError);
    expect(long).toBeInstanceOf(OpenAI.BadRequestError);
    expect(long.code).toBe("INPUT_TOO_LONG");
    expect(long.param).toBe("messages");
    expect(t.dispatcher.requests.length).toBe(before + 1);
    // A batch past the choices one call takes (prompts × n > 4096) is refused, never clamped.
    const huge = await openai.completions
      .create({
        model: "llama-2-13b",
        prompt: Array.from({ length: 2049 }, () => "a"),
        n: 2,
        max_tokens: 0,
        echo: true,
      })
      .then(unexpected, asApiError);
    expect(huge).toBeInstanceOf(OpenAI.BadRequestError);
    expect({ code: huge.code, param: huge.param }).toEqual({ code: "INVALID_REQUEST", param: "prompt" });
    expect(huge.message).toContain("split the batch");
    expect(t.dispatcher.requests.length).toBe(before + 1);
  });

  it("400 INVALID_REQUEST for tools that do not add up, with nothing relayed or billed", async () => {
    const { openai, key } = await t.newKey();
    const before = t.dispatcher.requests.length;
    type Body = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, "model">;
    const lookup: OpenAI.ChatCompletionTool = {
      type: "function",
      function: { name: "lookup", parameters: { type: "object" } },
    };
    const call = { id: "call_1", type: "function" as const, function: { name: "lookup", arguments: "{}" } };
    const hi: OpenAI.ChatCompletionMessageParam = { role: "user", content: "What time is it?" };
    const cases: [Body, string][] = [
      [{ messages: [hi], tool_choice: "required" }, "tool_choice"],
      [
        { messages: [hi], tools: [lookup], tool_choice: { type: "function", function: { name: "clock" } } },
        "tool_choice.function.name",
      ],
      [
        { messages: [hi, { role: "tool", tool_call_id: "call_1", content: "12:00" }] },
        "messages[1].tool_call_id",
      ],
      [
        { messages: [hi, { role: "assistant", content: null, tool_calls: [call, call] }] },
        "messages[1].tool_calls[1].id",
      ],
      [
        { messages: [hi, { role: "assistant", content: null, tool_calls: [call] }] },
        "messages[1].tool_calls[0].id",
      ],
      [
        {
          messages: [
            hi,
            { role: "assistant", content: null, tool_calls: [call] },
            { role: "user", content: "Still there?" },
            { role: "tool", tool_call_id: "call_1", content: "12:00" },
          ],
          tools: [lookup],
        },
        "messages[1].tool_calls[0].id",
      ],
      [{ messages: [hi, { role: "assistant", content: "Noon.", tool_calls: [] }] }, "messages[1].tool_calls"],
      [{ messages: [hi], parallel_tool_calls: false }, "parallel_tool_calls"],
    ];
    for (const [body, param] of cases) {
      const error = await openai.chat.completions
        .create({ model: "llama-2-13b", ...body })
        .then(unexpected, asApiError);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect({ code: error.code, param: error.param }).toEqual({ code: "INVALID_REQUEST", param });
    }
    expect(t.dispatcher.requests.length).toBe(before);
    expect(await usageOf(key.id)).toMatchObject({ requests: 0, spentMicroUsd: 0, reservedMicroUsd: 0 });
  });

  it("relays the histories of a tool loop: one call, or parallel calls, their results, then the answer", async () => {
    const { openai } = await t.newKey();
    const lookup: OpenAI.ChatCompletionTool = {
      type: "function",
      function: { name: "lookup", parameters: { type: "object", properties: { city: { type: "string" } } } },
    };
    const hi: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Time in Oslo, Lima and Pune?" };
    for (const cities of [["Oslo"], ["Oslo", "Lima", "Pune"]]) {
      // The assistant turn as a completion returns it, then one tool message per call, as the
      // client's tool runner appends them.
      const turn: OpenAI.ChatCompletionAssistantMessageParam = {
        role: "assistant",
        content: null,
        refusal: null,
        tool_calls: cities.map((city, i) => ({
          id: `call_${i}`,
          type: "function",
          function: { name: "lookup", arguments: JSON.stringify({ city }) },
        })),
      };
      const results: OpenAI.ChatCompletionToolMessageParam[] = cities.map((_, i) => ({
        role: "tool",
        tool_call_id: `call_${i}`,
        content: "12:00",
      }));
      const histories: OpenAI.ChatCompletionMessageParam[][] = [
        [hi, turn, ...results],
        [hi, turn, ...results.toReversed(), { role: "assistant", content: "Noon." }, hi],
      ];
      for (const messages of histories) {
        const before = t.dispatcher.requests.length;
        await openai.chat.completions.create({
          model: "llama-2-13b",
          messages,
          tools: [lookup],
          parallel_tool_calls: cities.length > 1,
        });
        expect(t.dispatcher.requests.length).toBe(before + 1);
        expect(lastRequest().body).toMatchObject({ messages, parallel_tool_calls: cities.length > 1 });
      }
    }
  });

  it("402 when the budget cannot cover the call", async () => {
    const { openai } = await t.newKey({ budgetMicroUsd: 1000 });
    const ask = () =>
      openai.chat.completions.create({ model: "llama-2-13b", messages: [{ role: "user", content: "x" }] });
    await ask();
    const error = await ask().then(unexpected, asApiError);
    expect(error.status).toBe(402);
    expect(error.code).toBe("BUDGET_EXHAUSTED");
    // It says what the request holds, not that the budget is spent (250 of 1,000 µUSD are left).
    expect(error.message).toContain("less than the 750 micro-USD this request holds");
  });

  it("429 RateLimitError with Retry-After", async () => {
    const { openai } = await t.newKey({ rpm: 1 });
    const ask = () =>
      openai.chat.completions.create({ model: "llama-2-13b", messages: [{ role: "user", content: "x" }] });
    await ask();
    const error = await ask().then(unexpected, asApiError);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThan(0);
  });

  it("403 PERMISSION_DENIED for the evaluator header on an ordinary key; evaluator keys may target a node", async () => {
    const { openai, key } = await t.newKey();
    const body = { model: "llama-2-13b", messages: [{ role: "user" as const, content: "x" }] };
    const headers = { "x-pocket-target-node": "pokt1target" };
    const refused = await openai.chat.completions.create(body, { headers }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(refused).toMatchObject({
      status: 403,
      code: "PERMISSION_DENIED",
      type: "permission_error",
      param: "x-pocket-target-node",
    });
    // What was refused, and what to do about it.
    expect((refused as Error).message).toContain("only evaluator keys may send x-pocket-target-node");
    expect((refused as Error).message).toContain("role evaluator");
    await t.admin.admin.keyRoles.set.mutate({ keyId: key.id, role: "evaluator" });
    const { response } = await openai.chat.completions.create(body, { headers }).withResponse();
    expect(lastRequest().targetNode).toBe("pokt1target");
    expect(response.headers.get("x-pocket-node")).toBe("pokt1target");
  });

  it("serves the traffic mix and organic samples to evaluator keys only", async () => {
    const { key, secret } = await t.newKey();
    const get = (path: string) =>
      fetch(`${t.gateway.url}/v1${path}`, { headers: { authorization: `Bearer ${secret}` } });
    for (const path of ["/pocket/traffic-mix", "/pocket/organic-samples?node=pokt1target"]) {
      const refused = await get(path);
      expect(refused.status, path).toBe(403);
      expect(((await refused.json()) as { error: unknown }).error, path).toMatchObject({
        code: "PERMISSION_DENIED",
        type: "permission_error",
        message: expect.stringContaining("only evaluator keys may"),
      });
    }
    await t.admin.admin.keyRoles.set.mutate({ keyId: key.id, role: "evaluator" });
    const mix = await get("/pocket/traffic-mix");
    expect(mix.status).toBe(200);
    expect(await mix.json()).toMatchObject({ total: 0, shapes: [] });
    const samples = await get("/pocket/organic-samples?node=pokt1target");
    expect(await samples.json()).toEqual({ samples: [] });
  });

  it("a failed dispatch charges nothing and leaves nothing reserved", async () => {
    const { openai, key } = await t.newKey({ budgetMicroUsd: 10_000 });
    t.dispatcher.failNext = "NO_NODES_AVAILABLE";
    const error = await openai.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "user", content: "x" }] })
      .then(unexpected, asApiError);
    expect(error.status).toBe(503);
    expect(error.code).toBe("NO_NODES_AVAILABLE");
    expect(await usageOf(key.id)).toMatchObject({ requests: 0, spentMicroUsd: 0, reservedMicroUsd: 0 });
  });
});
