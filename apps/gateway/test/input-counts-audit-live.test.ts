import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, nodeInputCounts, startLiveNetwork } from "./support/live-network.js";
import { weatherTool } from "./support/test-requests.js";

/**
 * The gateway's signed input count must equal the node's own count for every shape of text
 * request a client can send, or an honest gateway is marked wrong and its counts are never taken
 * again. A node that audits every relay (`countAuditEvery: 1`) compares the two on each one: a
 * real gateway, a real node in front of a vLLM-shaped engine with tools and JSON output, the
 * official `openai` client.
 */

let engine: FakeTextEngine;
let net: LiveNetwork;
let client: OpenAI;

beforeAll(async () => {
  engine = await startFakeVllm({ features: { tools: true, jsonMode: true, jsonSchema: true } });
  net = await startLiveNetwork({
    backends: [{ kind: "vllm", url: engine.url, capabilities: { tools: true, forcedToolChoice: true } }],
    nodeSettings: { countAuditEvery: 1 },
  });
  const key = await net.newKey();
  client = new OpenAI({ apiKey: key.secret, baseURL: `${net.gateway.url}/v1`, maxRetries: 0 });
}, 90_000);

afterAll(async () => {
  await net?.close();
  await engine?.close();
});

const MODEL = "llama-2-13b";

describe("input counts audited on every relay", () => {
  it("agree with the node's own count for every request shape: roles, content parts, names, tools and their turns, JSON output, batches, streams, Responses items", async () => {
    const chats: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming[] = [
      {
        model: MODEL,
        messages: [
          { role: "system", content: "You answer briefly." },
          { role: "user", content: "Tell me about Zürich, 東京 and Москва." },
        ],
        max_tokens: 2,
      },
      {
        model: MODEL,
        messages: [
          { role: "developer", content: "Be kind." },
          {
            role: "user",
            name: "alice",
            content: [
              { type: "text", text: "First part, " },
              { type: "text", text: "second part." },
            ],
          },
        ],
        max_tokens: 2,
      },
      {
        model: MODEL,
        messages: [{ role: "user", content: "Weather in Oslo?" }],
        tools: [weatherTool],
        tool_choice: { type: "function", function: { name: "weather" } },
        max_tokens: 8,
      },
      {
        model: MODEL,
        messages: [
          { role: "user", content: "Weather in Oslo?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: '{"temp":3}' },
          { role: "assistant", content: "It is 3 degrees." },
          { role: "user", content: "And tomorrow?" },
        ],
        tools: [weatherTool],
        tool_choice: "none",
        max_tokens: 2,
      },
      {
        model: MODEL,
        messages: [{ role: "user", content: "A city as JSON." }],
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "city",
            schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
          },
        },
        max_tokens: 16,
      },
      {
        model: MODEL,
        messages: [{ role: "user", content: "Any JSON object." }],
        response_format: { type: "json_object" },
        max_tokens: 16,
      },
    ];
    for (const body of chats) {
      const answer = await client.chat.completions.create(body);
      expect(answer.choices).toHaveLength(1);
    }
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: "system", content: "Stream it." },
        { role: "user", content: "Weather in Oslo?" },
      ],
      tools: [weatherTool],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of stream);
    const batch = await client.completions.create({
      model: MODEL,
      prompt: ["One prompt", "a second, longer prompt of the batch", "ü"],
      max_tokens: 1,
    });
    // (The fake engine answers a batch with one choice; what matters here is its count.)
    expect(batch.choices.length).toBeGreaterThan(0);
    const single = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 1 });
    expect(single.choices).toHaveLength(1);

    // The Responses API: the gateway turns items into a chat before counting and relaying it.
    const response = await client.responses.create({
      model: MODEL,
      instructions: "Answer briefly.",
      input: [
        { role: "user", content: "Weather in Oslo?" },
        { type: "function_call", call_id: "call_2", name: "weather", arguments: '{"city":"Oslo"}' },
        { type: "function_call_output", call_id: "call_2", output: '{"temp":3}' },
      ],
      tools: [
        { type: "function", name: "weather", parameters: weatherTool.function.parameters, strict: false },
      ],
      tool_choice: "none",
      max_output_tokens: 2,
    });
    expect(response.output.map((o) => o.type)).toEqual(["message"]);

    const relays = chats.length + 4;
    const { bySource, wrong } = await nodeInputCounts(net.nodes[0]!.node.url);
    // Every relay carried the gateway's count, and the node compared it with its own each time.
    expect(bySource).toEqual({ audit: relays });
    expect(wrong).toBe(0);
  });
});
