import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createOpenAI } from "@ai-sdk/openai";
import { ToolMessage } from "@langchain/core/messages";
import { tool as langchainTool } from "@langchain/core/tools";
import { ChatOpenAI, DallEAPIWrapper } from "@langchain/openai";
import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import { decodePng } from "@pocket-ai/png";
import { generateImage, generateObject, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";
import { weatherTool } from "./support/test-requests.js";

/**
 * What an application does with each client library, end to end. Tool calling that succeeds: a real gateway and a real node in front of a vLLM-shaped
 * engine started with tool calling (`capabilities: { tools: true, forcedToolChoice: true }`), driven by the official
 * `openai` client (chat and Responses), the Vercel AI SDK (`.chat()` and its default Responses
 * provider) and LangChain. The fake engine answers tools with a call to the forced or first tool,
 * unary only; a small proxy in front of it streams tool calls the way vLLM does (a first delta
 * with id and name, then argument fragments), so streamed tool-call deltas cross the network too.
 * Then chat, structured output (JSON schema through the JSON-capable node), image URLs (the node's
 * development image backend, URLs served by the gateway), `GET /v1/models/{id}` and the
 * `x-request-id` / `x-ratelimit-*` headers, each as the libraries expose them.
 * (The fake engine's words can count as two of the model's tokens: text answers ask for one.)
 */

const ARG_PIECES = ['{"city":', ' "Oslo"}'];
const ARGUMENTS = ARG_PIECES.join("");

/**
 * Streams a call to the forced or first tool for streamed chat requests with tools, and ends
 * complete JSON answers with `stop`; the rest goes to the engine untouched.
 */
async function startToolStreamingProxy(engine: FakeTextEngine): Promise<{ url: string; server: Server }> {
  const target = new URL(engine.url);
  let calls = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = parseBody(req, raw);
      const tools = Array.isArray(body?.tools) ? (body.tools as { function?: { name?: string } }[]) : [];
      if (body?.stream === true && tools.length > 0 && body.tool_choice !== "none") {
        const forced = (body.tool_choice as { function?: { name?: string } } | undefined)?.function?.name;
        const name = forced ?? tools[0]?.function?.name ?? "tool";
        const base = {
          id: `chatcmpl-proxy-${++calls}`,
          object: "chat.completion.chunk",
          created: 1,
          model: engine.model,
        };
        const piece = (delta: unknown, finish: string | null = null) => ({
          ...base,
          choices: [{ index: 0, delta, finish_reason: finish }],
        });
        const pieces: unknown[] = [
          piece({ role: "assistant", content: null }),
          piece({
            tool_calls: [
              { index: 0, id: `call-stream-${calls}`, type: "function", function: { name, arguments: "" } },
            ],
          }),
          ...ARG_PIECES.map((a) => piece({ tool_calls: [{ index: 0, function: { arguments: a } }] })),
          piece({}, "tool_calls"),
        ];
        if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) {
          pieces.push({
            ...base,
            choices: [],
            usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
          });
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const p of pieces) res.write(`data: ${JSON.stringify(p)}\n\n`);
        res.end("data: [DONE]\n\n");
        return;
      }
      const json = body?.response_format !== undefined && body.stream !== true;
      const forward = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          if (!json) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          const parts: Buffer[] = [];
          answer.on("data", (c: Buffer) => parts.push(c));
          answer.on("end", () => {
            const text = endJsonAnswers(Buffer.concat(parts).toString("utf8"));
            res.writeHead(answer.statusCode ?? 502, { "content-type": "application/json" });
            res.end(text);
          });
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/**
 * The fake engine ends every answer with `length`; a real one stops after a complete JSON object,
 * and LangChain's structured output refuses a `length` answer. A complete object ends with `stop`.
 */
function endJsonAnswers(raw: string): string {
  try {
    const answer = JSON.parse(raw) as {
      choices?: { message?: { content?: string }; finish_reason?: string }[];
    };
    for (const choice of answer.choices ?? []) {
      try {
        JSON.parse(choice.message?.content ?? "");
        choice.finish_reason = "stop";
      } catch {}
    }
    return JSON.stringify(answer);
  } catch {
    return raw;
  }
}

function parseBody(req: IncomingMessage, raw: Buffer): Record<string, unknown> | undefined {
  if (req.method !== "POST" || !(req.headers["content-type"] ?? "").includes("json")) return undefined;
  try {
    return JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

let engine: FakeTextEngine;
let proxy: { url: string; server: Server };
let net: LiveNetwork;
let secret: string;
let client: OpenAI;
const MODEL = "llama-2-13b";
const baseURL = () => `${net.gateway.url}/v1`;
const chatCalls = () => engine.calls["POST /v1/chat/completions"] ?? 0;

beforeAll(async () => {
  engine = await startFakeVllm({ features: { tools: true, jsonMode: true, jsonSchema: true } });
  proxy = await startToolStreamingProxy(engine);
  net = await startLiveNetwork({
    backends: [{ kind: "vllm", url: proxy.url, capabilities: { tools: true, forcedToolChoice: true } }],
  });
  secret = (await net.newKey()).secret;
  client = new OpenAI({ apiKey: secret, baseURL: baseURL(), maxRetries: 0 });
}, 90_000);
afterAll(async () => {
  await net?.close();
  if (proxy !== undefined) await new Promise((resolve) => proxy.server.close(resolve));
  await engine?.close();
});

const weatherSchema = jsonSchema<{ city: string }>({
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
});

describe("tool calls with the official openai client", () => {
  it("chat: a tool_calls answer, then the tool-result turn answered 200", async () => {
    const before = chatCalls();
    const first = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "weather" } },
      max_tokens: 8,
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call?.type === "function" && call.function.name).toBe("weather");
    const second = await client.chat.completions
      .create({
        model: MODEL,
        messages: [
          { role: "user", content: "Weather in Oslo?" },
          { role: "assistant", content: null, tool_calls: first.choices[0]!.message.tool_calls! },
          { role: "tool", tool_call_id: call!.id, content: '{"temp":3}' },
        ],
        tools: [weatherTool],
        tool_choice: "none",
        max_tokens: 1,
      })
      .withResponse();
    expect(second.response.status).toBe(200);
    expect(second.data.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(chatCalls()).toBe(before + 2);
  });

  it("chat: streamed tool-call deltas add up to the call", async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [weatherTool],
      stream: true,
      max_tokens: 8,
    });
    let name = "";
    let args = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const d of choice?.delta.tool_calls ?? []) {
        name += d.function?.name ?? "";
        args += d.function?.arguments ?? "";
      }
      finish = choice?.finish_reason ?? finish;
    }
    expect({ name, args, finish }).toEqual({ name: "weather", args: ARGUMENTS, finish: "tool_calls" });
  });

  it("responses: a function_call item, the function_call_output turn answered 200, and streamed argument events", async () => {
    const tools = [
      {
        type: "function" as const,
        name: "weather",
        parameters: weatherTool.function.parameters,
        strict: false,
      },
    ];
    const first = await client.responses.create({
      model: MODEL,
      input: "Weather in Oslo?",
      tools,
      tool_choice: { type: "function", name: "weather" },
      max_output_tokens: 8,
    });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "weather", status: "completed" });
    if (call?.type !== "function_call") throw new Error("expected a function call");
    const second = await client.responses.create({
      model: MODEL,
      input: [
        { role: "user", content: "Weather in Oslo?" },
        { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: '{"temp":3}' },
      ],
      tools,
      tool_choice: "none",
      max_output_tokens: 1,
    });
    expect(second.output.map((o) => o.type)).toEqual(["message"]);
    expect(second.output_text.length).toBeGreaterThan(0);

    const stream = await client.responses.create({
      model: MODEL,
      input: "Weather?",
      tools,
      stream: true,
      max_output_tokens: 8,
    });
    const deltas: string[] = [];
    let done: unknown;
    for await (const event of stream) {
      if (event.type === "response.function_call_arguments.delta") deltas.push(event.delta);
      if (event.type === "response.completed") done = event.response.output;
    }
    expect(deltas.join("")).toBe(ARGUMENTS);
    expect(done).toEqual([
      expect.objectContaining({ type: "function_call", name: "weather", arguments: ARGUMENTS }),
    ]);
  });
});

describe("tool calls with the Vercel AI SDK", () => {
  const weather = tool({
    description: "The weather in a city",
    inputSchema: weatherSchema,
    execute: async ({ city }) => ({ city, temp: 3 }),
  });
  // The second step sends the tool result and asks for text (the fake engine calls a tool whenever
  // it may), one token of it: the fake's words may count as two of the model's tokens each.
  const textAfterTools = ({ stepNumber }: { stepNumber: number }) =>
    stepNumber > 0 ? { toolChoice: "none" as const, maxOutputTokens: 1 } : undefined;

  for (const [label, model] of [
    [".chat()", () => createOpenAI({ apiKey: secret, baseURL: baseURL() }).chat(MODEL)],
    ["the default Responses provider", () => createOpenAI({ apiKey: secret, baseURL: baseURL() })(MODEL)],
  ] as const) {
    it(`${label}: generateText calls the tool, sends its result and gets the answer`, async () => {
      const result = await generateText({
        model: model(),
        tools: { weather },
        prompt: "Weather in Oslo?",
        stopWhen: stepCountIs(2),
        prepareStep: textAfterTools,
        maxOutputTokens: 8,
        maxRetries: 0,
      });
      expect(result.steps).toHaveLength(2);
      expect(result.steps[0]?.toolCalls.map((c) => c.toolName)).toEqual(["weather"]);
      expect(result.steps[0]?.toolResults[0]?.output).toMatchObject({ temp: 3 });
      expect(result.steps[1]?.toolCalls).toEqual([]);
      expect(JSON.stringify(result.steps[1]?.request.body)).toContain('\\"temp\\":3');
      expect(result.text.length).toBeGreaterThan(0);
    });

    it(`${label}: streamText streams the tool call's input deltas`, async () => {
      const result = streamText({
        model: model(),
        tools: { weather: tool({ description: "The weather in a city", inputSchema: weatherSchema }) },
        prompt: "Weather in Oslo?",
        maxOutputTokens: 8,
        maxRetries: 0,
      });
      const deltas: string[] = [];
      for await (const part of result.fullStream)
        if (part.type === "tool-input-delta") deltas.push(part.delta);
      expect(deltas.join("")).toBe(ARGUMENTS);
      expect((await result.toolCalls).map((c) => [c.toolName, c.input])).toEqual([
        ["weather", { city: "Oslo" }],
      ]);
      expect(await result.finishReason).toBe("tool-calls");
    });
  }
});

describe("tool calls with LangChain", () => {
  it("ChatOpenAI.bindTools: a tool call, then the ToolMessage turn answered", async () => {
    const weather = langchainTool(async ({ city }: { city: string }) => JSON.stringify({ city, temp: 3 }), {
      name: "weather",
      description: "The weather in a city",
      // The fake engine calls tools with `{}`: nothing is required.
      schema: { type: "object", properties: { city: { type: "string" } } },
    });
    const chat = (maxTokens: number) =>
      new ChatOpenAI({
        model: MODEL,
        apiKey: secret,
        configuration: { baseURL: baseURL() },
        maxRetries: 0,
        maxTokens,
      });
    const first = await chat(8).bindTools([weather]).invoke("Weather in Oslo?");
    expect(first.tool_calls?.map((c) => c.name)).toEqual(["weather"]);
    const call = first.tool_calls![0]!;
    // The tool's answer as LangChain's agents send it: a ToolMessage carrying the call id and the tool's name.
    const result = new ToolMessage({
      tool_call_id: call.id!,
      name: call.name,
      content: JSON.stringify({ city: "Oslo", temp: 3 }),
    });
    const answer = await chat(1)
      .bindTools([weather], { tool_choice: "none" })
      .invoke([["human", "Weather in Oslo?"], first, result]);
    expect(typeof answer.content === "string" && answer.content.length).toBeGreaterThan(0);
  });
});

describe("chat, structured output, images, models and headers", () => {
  const aiSdk = () => createOpenAI({ apiKey: secret, baseURL: baseURL() });
  const citySchema = jsonSchema<{ city: string; temp: number }>({
    type: "object",
    properties: { city: { type: "string" }, temp: { type: "number" } },
    required: ["city", "temp"],
    additionalProperties: false,
  });

  it("AI SDK .chat(): generateText and streamText, with the request id and rate-limit headers", async () => {
    const limited = await net.newKey({ rpm: 100, tpm: 100_000 });
    const model = createOpenAI({ apiKey: limited.secret, baseURL: baseURL() }).chat(MODEL);
    const result = await generateText({ model, prompt: "Say hi", maxOutputTokens: 1, maxRetries: 0 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.usage.outputTokens).toBe(1);
    const headers = result.response.headers ?? {};
    expect(headers["x-request-id"]).toMatch(/^req_[0-9a-f]{24}$/);
    expect(headers).toMatchObject({
      "x-ratelimit-limit-requests": "100",
      "x-ratelimit-remaining-requests": "99",
      "x-ratelimit-limit-tokens": "100000",
    });
    const streamed = streamText({ model, prompt: "Say hi", maxOutputTokens: 1, maxRetries: 0 });
    const parts: string[] = [];
    for await (const delta of streamed.textStream) parts.push(delta);
    expect(parts.join("")).toBe(await streamed.text);
    expect(parts.join("").length).toBeGreaterThan(0);
    expect((await streamed.usage).outputTokens).toBe(1);
    expect((await streamed.response).headers?.["x-ratelimit-remaining-requests"]).toBe("98");
  });

  it("AI SDK generateObject: a JSON-schema object through .chat() and through the Responses provider", async () => {
    for (const model of [aiSdk().chat(MODEL), aiSdk()(MODEL)]) {
      const before = chatCalls();
      const { object } = await generateObject({
        model,
        schema: citySchema,
        prompt: "The weather in Oslo as JSON",
        maxOutputTokens: 64,
        maxRetries: 0,
      });
      expect(object).toEqual({ city: expect.any(String), temp: 1 });
      expect(chatCalls()).toBe(before + 1);
    }
  });

  it("LangChain ChatOpenAI: invoke, stream and withStructuredOutput (JSON schema)", async () => {
    const chat = new ChatOpenAI({
      model: MODEL,
      apiKey: secret,
      configuration: { baseURL: baseURL() },
      maxRetries: 0,
      maxTokens: 1,
    });
    const answer = await chat.invoke("Say hi");
    expect(typeof answer.content === "string" && answer.content.length).toBeGreaterThan(0);
    let streamed = "";
    for await (const chunk of await chat.stream("Say hi")) streamed += String(chunk.content);
    expect(streamed.length).toBeGreaterThan(0);
    const structured = new ChatOpenAI({
      model: MODEL,
      apiKey: secret,
      configuration: { baseURL: baseURL() },
      maxRetries: 0,
      maxTokens: 64,
    }).withStructuredOutput(
      {
        title: "weather",
        type: "object",
        properties: { city: { type: "string" }, temp: { type: "number" } },
        required: ["city", "temp"],
        additionalProperties: false,
      },
      { method: "jsonSchema" },
    );
    expect(await structured.invoke("The weather in Oslo as JSON")).toEqual({
      city: expect.any(String),
      temp: 1,
    });
  });

  it('images: "url" answers the gateway serves (official client), base64 (AI SDK); LangChain DALL·E fields refused', async () => {
    const answer = await client.images.generate({
      model: "stable-diffusion",
      prompt: "a lighthouse",
      size: "512x512",
      response_format: "url",
    });
    const url = answer.data?.[0]?.url ?? "";
    expect(url).toMatch(/\/v1\/images\/content\/[0-9a-f]{16}-[0-9a-f]{64}\.png$/);
    const png = decodePng(new Uint8Array(await (await fetch(url)).arrayBuffer()));
    expect(png.width).toBeGreaterThan(0);

    // The Vercel AI SDK asks for base64 (its image model always does) and gets the node's PNG.
    const { image } = await generateImage({
      model: aiSdk().image("stable-diffusion"),
      prompt: "a lighthouse",
      size: "512x512",
      maxRetries: 0,
    });
    expect(decodePng(image.uint8Array).width).toBeGreaterThan(0);
    // LangChain's DallEAPIWrapper always sends DALL·E's `style` and `quality`: its default
    // `quality: "standard"` asks for nothing, but no node does a `style`: refused by name rather
    // than ignored.
    const dalle = new DallEAPIWrapper({
      apiKey: secret,
      baseUrl: baseURL(),
      model: "stable-diffusion",
      size: "512x512",
      dallEResponseFormat: "url",
    });
    const refused = await dalle.invoke("a lighthouse").then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect([refused?.status, refused?.code, refused?.param]).toEqual([400, "UNSUPPORTED_PARAMETER", "style"]);
  });

  it("chat: an earlier refusal sent back as a refusal part reaches the engine as the turn's text, and counts as input", async () => {
    const refusal = "I can't help with that request.";
    const history = (words: string): OpenAI.ChatCompletionMessageParam[] => [
      { role: "user", content: "Tell me a secret." },
      { role: "assistant", content: [{ type: "refusal", refusal: words }] },
      { role: "user", content: "Then tell me a joke." },
    ];
    const answer = await client.chat.completions.create({
      model: MODEL,
      messages: history(refusal),
      max_tokens: 1,
    });
    expect(answer.choices[0]?.message.content?.length).toBeGreaterThan(0);
    const sent = engine.requests.filter((r) => r.path === "/v1/chat/completions").at(-1)?.body as {
      messages: { role: string; content: unknown }[];
    };
    expect(sent.messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: refusal }] });
    // The refusal's words count against the tier's 200 input tokens as any text does.
    const long = await client.chat.completions
      .create({ model: MODEL, messages: history("no ".repeat(400)), max_tokens: 1 })
      .then(
        () => undefined,
        (e: unknown) => e as APIError,
      );
    expect([long?.status, long?.code]).toEqual([400, "INPUT_TOO_LONG"]);
  });

  it("GET /v1/models/{id}: the official client's models.retrieve, and 404 UNKNOWN_MODEL for a name not served", async () => {
    const model = await client.models.retrieve(MODEL);
    expect(model).toMatchObject({ id: MODEL, object: "model" });
    const missing = await client.models.retrieve("gpt-17").then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect(missing?.status).toBe(404);
    expect(missing?.code).toBe("UNKNOWN_MODEL");
  });
});

describe("the network after all that", () => {
  it("blamed no node", async () => {
    const metrics = await (await fetch(`${net.gateway.url}/metrics`)).text();
    expect(nodeBlame(metrics)).toEqual([]);
  });
});
