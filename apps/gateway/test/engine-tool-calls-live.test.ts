import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, startLiveNetwork } from "./support/live-network.js";
import { weatherTool } from "./support/test-requests.js";

/**
 * A real gateway and two real nodes, each in front of a fake vLLM started with tool calling, driven
 * by the official `openai` client. One engine misbehaves: it answers a chat that offered no tools
 * with a tool call. The gateway would refuse that answer (`TOOL_CALLS_NOT_OFFERED`) and sanction
 * the node that signed it, for its engine's fault; the node refuses it first (`BACKEND_ERROR`), so
 * the gateway sees an engine failure, tries the other node, and refuses and sanctions nothing. The
 * node's operator learns of it from its `pocket_node_engine_answers_refused_total`.
 */

let net: LiveNetwork;
const engines: FakeTextEngine[] = [];
let openai: OpenAI;

beforeAll(async () => {
  for (let i = 0; i < 2; i++) engines.push(await startFakeVllm({ features: { tools: true } }));
  net = await startLiveNetwork({
    backends: engines.map((e) => ({ kind: "vllm", url: e.url, capabilities: { tools: true } })),
  });
  openai = new OpenAI({
    apiKey: (await net.newKey()).secret,
    baseURL: `${net.gateway.url}/v1`,
    maxRetries: 0,
  });
}, 120_000);

afterAll(async () => {
  await net?.close();
  await Promise.all(engines.map((e) => e.close()));
});

const messages = [{ role: "user" as const, content: "Tell me about the lighthouse" }];

/** Calls until the misbehaving engine has answered once (the gateway picks either node); returns every outcome. */
async function untilItMisbehaves<T>(at: "first" | "late", call: () => Promise<T>): Promise<T[]> {
  const engine = engines[0]!;
  engine.faults.uninvitedToolCall = { at, times: 1 };
  const outcomes: T[] = [];
  for (let i = 0; i < 100 && engine.faults.uninvitedToolCall !== null; i++) outcomes.push(await call());
  expect(engine.faults.uninvitedToolCall).toBeNull();
  return outcomes;
}

async function unary() {
  const answer = await openai.chat.completions.create({ model: "llama-2-13b", messages, max_tokens: 4 });
  return {
    calls: answer.choices[0]?.message.tool_calls?.length ?? 0,
    finish: answer.choices[0]?.finish_reason,
  };
}

async function streamed() {
  let calls = 0;
  let text = "";
  try {
    const stream = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 4,
      stream: true,
    });
    for await (const chunk of stream) {
      calls += chunk.choices[0]?.delta.tool_calls?.length ?? 0;
      text += chunk.choices[0]?.delta.content ?? "";
    }
    return { calls, text };
  } catch (error) {
    return { calls, text, error: (error as { code?: string }).code ?? "(none)" };
  }
}

/** The lines of `url`'s metrics page of series `name` with a value above 0. */
async function counted(url: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) && Number(l.slice(l.lastIndexOf(" ") + 1)) > 0);
}
const refusedAnswers = async () =>
  (await counted(net.gateway.url, "pocket_gateway_node_refused_answers_total")).length;
const sanctions = async () => (await counted(net.gateway.url, "pocket_gateway_node_sanctions_total")).length;
const nodeRefused = async () => {
  const lines = await counted(net.nodes[0]!.node.url, "pocket_node_engine_answers_refused_total");
  const line = lines.find((l) => l.includes('rule="TOOL_CALLS_NOT_OFFERED"'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
};

describe("a node whose engine makes a tool call the request never offered", () => {
  it("unary: the node refuses it, the gateway retries on the other node and refuses or sanctions none; offered tools, a call goes through", async () => {
    const outcomes = await untilItMisbehaves("first", unary);
    for (const o of outcomes)
      expect(o).toEqual({ calls: 0, finish: expect.stringMatching(/^(stop|length)$/) });
    expect(await refusedAnswers()).toBe(0);
    expect(await sanctions()).toBe(0);
    expect(await nodeRefused()).toBe(1);
    // The gateway saw the node's engine fail, not a lie.
    expect(
      (await counted(net.gateway.url, "pocket_gateway_node_relays_total")).filter((l) =>
        l.includes('outcome="BACKEND_ERROR"'),
      ),
    ).toHaveLength(1);
    // Where the request offered tools, the engine's call reaches the client.
    const offered = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 20,
      tools: [weatherTool],
    });
    expect(offered.choices[0]?.message.tool_calls).toHaveLength(1);
    expect(await refusedAnswers()).toBe(0);
  }, 120_000);

  it("streams: a call in the first piece is retried before any byte; a later one ends the stream as an engine failure", async () => {
    const first = await untilItMisbehaves("first", streamed);
    for (const o of first) expect(o).toEqual({ calls: 0, text: expect.stringMatching(/\S/) });
    const late = await untilItMisbehaves("late", streamed);
    expect(late.at(-1)).toMatchObject({ calls: 0, error: "STREAM_INTERRUPTED" });
    expect(await refusedAnswers()).toBe(0);
    expect(await sanctions()).toBe(0);
    expect(await nodeRefused()).toBe(3);
  }, 120_000);
});
