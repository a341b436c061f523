import { ENGINE_JSON_FEATURES, type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "./support/api-refusal.js";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";

/**
 * Routing by what each node's engine can do, through the official `openai` client: one node on
 * the development backend (several choices, token-id prompts; no JSON mode, no tools) and one in
 * front of a llama.cpp-shaped engine (JSON mode and schema; ignores `n`, so does not declare it).
 * A request goes only to a node that supports every feature it uses, and a feature no node has is a
 * 400 `NO_CAPABLE_NODE` naming it — never a silently ignored parameter.
 * (The fake engine's words can count as two Llama 2 tokens each: its answers ask for one token.)
 */

let net: LiveNetwork;
let llamacpp: FakeTextEngine;
let client: OpenAI;
const calls = () =>
  (llamacpp.calls["POST /v1/chat/completions"] ?? 0) + (llamacpp.calls["POST /v1/completions"] ?? 0);

beforeAll(async () => {
  // A llama.cpp engine with its real JSON output (grammars); the node probes it at start.
  llamacpp = await startFakeVllm({ flavor: "llamacpp", features: ENGINE_JSON_FEATURES.llamacpp });
  net = await startLiveNetwork({ backends: [{ kind: "dev" }, { kind: "llamacpp", url: llamacpp.url }] });
  client = new OpenAI({
    apiKey: (await net.newKey()).secret,
    baseURL: `${net.gateway.url}/v1`,
    maxRetries: 0,
  });
}, 90_000);
afterAll(async () => {
  await net?.close();
  await llamacpp?.close();
});

const messages = [{ role: "user" as const, content: "Say hello." }];

describe("capability routing", () => {
  it("shows each model's features in /v1/models", async () => {
    const models = await client.models.list();
    const llama = models.data.find((m) => m.id === "llama-2-13b") as unknown as {
      pocket: { available_nodes: number; capabilities: Record<string, number> };
    };
    expect(llama.pocket.available_nodes).toBe(2);
    expect(llama.pocket.capabilities).toMatchObject({ n: 1, jsonMode: 1, jsonSchema: 1, tools: 0, chat: 2 });
  });

  it("sends n=3 only to the node that returns three choices", async () => {
    const before = calls();
    for (let i = 0; i < 4; i++) {
      const answer = await client.chat.completions.create({
        model: "llama-2-13b",
        messages,
        n: 3,
        max_tokens: 4,
      });
      expect(answer.choices.map((c) => c.index)).toEqual([0, 1, 2]);
      const completion = await client.completions.create({
        model: "llama-2-13b",
        prompt: "Hi",
        n: 3,
        max_tokens: 2,
      });
      expect(completion.choices).toHaveLength(3);
    }
    expect(calls()).toBe(before);
  });

  it("sends logit_bias only to the node whose engine applies it (llama.cpp, not the development backend)", async () => {
    const before = calls();
    for (let i = 0; i < 3; i++) {
      const answer = await client.chat.completions.create({
        model: "llama-2-13b",
        messages,
        logit_bias: { "2": -100 },
        max_tokens: 1,
      });
      expect(answer.choices).toHaveLength(1);
    }
    expect(calls()).toBe(before + 3);
  });

  it("refuses a completion's suffix when no node writes towards one, and serves an empty suffix anywhere", async () => {
    // Neither the development backend nor llama.cpp server does fill-in-the-middle (llama.cpp
    // refuses the field): never an answer that ignored the suffix.
    const refused = await refusal(
      client.completions.create({
        model: "llama-2-13b",
        prompt: "def area(r):",
        suffix: "return a",
        max_tokens: 2,
      }),
    );
    expect([refused.status, refused.code, refused.param]).toEqual([400, "NO_CAPABLE_NODE", "suffix"]);
    // An empty one is OpenAI's default: served, and not relayed as a field. A bias sends it to the
    // llama.cpp node, which refuses a `suffix` field whatever its value.
    const before = calls();
    const answer = await client.completions.create({
      model: "llama-2-13b",
      prompt: "Hi",
      suffix: "",
      logit_bias: { "2": 1 },
      max_tokens: 1,
    });
    expect(answer.choices).toHaveLength(1);
    expect(calls()).toBe(before + 1);
    const sent = llamacpp.requests.filter((r) => r.path === "/v1/completions").map((r) => r.body as object);
    expect(sent.filter((body) => "suffix" in body)).toEqual([]);
  });

  it("sends JSON mode and json_schema only to the node whose engine does them", async () => {
    const before = calls();
    for (let i = 0; i < 3; i++) {
      const answer = await client.chat.completions.create({
        model: "llama-2-13b",
        messages,
        max_tokens: 32,
        response_format: { type: "json_object" },
      });
      // The engine really answers JSON (whole: 32 tokens hold it).
      expect(JSON.parse(answer.choices[0]?.message.content ?? "")).toEqual(expect.any(Object));
    }
    const structured = await client.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 32,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "greeting",
          schema: { type: "object", properties: { text: { type: "string" } } },
        },
      },
    });
    expect(Object.keys(JSON.parse(structured.choices[0]?.message.content ?? "{}"))).toEqual(["text"]);
    expect(calls() - before).toBe(4);
    const sent = llamacpp.requests.at(-1)?.body as { response_format?: { type: string } };
    expect(sent.response_format?.type).toBe("json_schema");
  });

  it("answers 400 NO_CAPABLE_NODE for a feature no node has: forced tools, tool-result turns, n with JSON mode", async () => {
    const tools = [{ type: "function" as const, function: { name: "now", parameters: { type: "object" } } }];
    const forced = await refusal(
      client.chat.completions.create({
        model: "llama-2-13b",
        messages,
        tools,
        tool_choice: { type: "function", function: { name: "now" } },
      }),
    );
    expect(forced.status).toBe(400);
    expect(forced.code).toBe("NO_CAPABLE_NODE");
    expect(forced.param).toBe("tools");
    expect(forced.message).toContain("tool calling");
    const toolTurn = await refusal(
      client.chat.completions.create({
        model: "llama-2-13b",
        messages: [
          { role: "user", content: "What time is it?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "now", arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: "c1", content: "12:00" },
        ],
      }),
    );
    expect(toolTurn.code).toBe("NO_CAPABLE_NODE");
    expect(toolTurn.param).toBe("messages");
    // Each feature exists on one node, but no node has both.
    const both = await refusal(
      client.chat.completions.create({
        model: "llama-2-13b",
        messages,
        n: 2,
        response_format: { type: "json_object" },
      }),
    );
    expect(both.code).toBe("NO_CAPABLE_NODE");
  });

  it("routes /v1/responses the same way: text.format to the JSON node, tools and tool turns NO_CAPABLE_NODE", async () => {
    const before = calls();
    const answer = await client.responses.create({
      model: "llama-2-13b",
      input: "Say hello.",
      max_output_tokens: 1,
      text: { format: { type: "json_schema", name: "greeting", schema: { type: "object" } } },
    });
    expect(answer.output[0]?.type).toBe("message");
    expect(calls()).toBe(before + 1);
    const sent = llamacpp.requests.at(-1)?.body as { response_format?: { type: string } };
    expect(sent.response_format?.type).toBe("json_schema");
    const tools = [{ type: "function" as const, name: "now", parameters: { type: "object" }, strict: false }];
    const forced = await refusal(
      client.responses.create({ model: "llama-2-13b", input: "Time?", tools, tool_choice: "required" }),
    );
    expect([forced.status, forced.code, forced.param]).toEqual([400, "NO_CAPABLE_NODE", "tools"]);
    const toolTurn = await refusal(
      client.responses.create({
        model: "llama-2-13b",
        input: [
          { role: "user", content: "What time is it?" },
          { type: "function_call", call_id: "c1", name: "now", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "12:00" },
        ],
      }),
    );
    expect([toolTurn.code, toolTurn.param]).toEqual(["NO_CAPABLE_NODE", "input"]);
    expect(calls()).toBe(before + 1);
  });

  it("blamed no node", async () => {
    expect(nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text())).toEqual([]);
  });
});
