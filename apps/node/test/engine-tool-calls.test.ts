import type { ServerResponse } from "node:http";
import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { TestGateway } from "./helpers/node-harness.js";
import { type EngineAnswer, nodeBehindEngine } from "./helpers/scripted-engine.js";

/**
 * An engine behind the node that makes tool calls the request did not allow: a call (or
 * `finish_reason: "tool_calls"`) in a chat that offered no tools, or set `tool_choice: "none"` on a
 * node that declares it obeys it; two calls where the request set `parallel_tool_calls: false`.
 * The gateway refuses such an answer (`TOOL_CALLS_NOT_OFFERED`, `TOOL_CALLS`) and sanctions the
 * node that signed it, so the node refuses it first: a signed `BACKEND_ERROR` (retried elsewhere
 * without a sanction), a warning with a code and a count in its metrics. A call the request
 * allowed is signed as before.
 */
let running: Awaited<ReturnType<typeof nodeBehindEngine>> | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const gw = new TestGateway();
const lines: Record<string, unknown>[] = [];

async function nodeBehind(answer: EngineAnswer, backend: Record<string, unknown> = {}) {
  lines.length = 0;
  const log = createLogger({
    app: "node-test",
    level: "warn",
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  running = await nodeBehindEngine(answer, backend, log);
  return running.harness;
}

const json = (res: ServerResponse, value: unknown) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
};

const call = (i: number) => ({
  id: `call_${i}`,
  type: "function",
  function: { name: "lookup", arguments: '{"city":"Oslo"}' },
});

/** A chat answer whose one choice's message carries `message` and ends with `finish`. */
const chat = (message: Record<string, unknown>, finish = "stop") => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: null, ...message },
      logprobs: null,
      finish_reason: finish,
    },
  ],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
});

const piece = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

const lookup = { type: "function", function: { name: "lookup", parameters: { type: "object" } } };
const messages = [{ role: "user", content: "What is the weather in Oslo?" }];
const ask = (body: Record<string, unknown> = {}) =>
  gw.request({ model: "llama-2-13b", messages, max_tokens: 20, ...body }, { operation: "chat.completions" });

async function readAll(request: ReturnType<TestGateway["request"]>): Promise<RelayStreamChunk[]> {
  const chunks: RelayStreamChunk[] = [];
  for await (const c of await running!.harness.client.relayStream.mutate(request))
    chunks.push(c as RelayStreamChunk);
  return chunks;
}

/** The node's count of engine answers it refused to sign for `rule`. */
async function refusedByNode(rule: string): Promise<number> {
  const text = await (await fetch(`${running!.harness.node.url}/metrics`)).text();
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("pocket_node_engine_answers_refused_total{") &&
        l.includes(`rule="${rule}"`) &&
        l.includes('service="llama-2-13b"'),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const warnings = () => lines.filter((l) => l.code === "ENGINE_ANSWER_REFUSED");

describe("a node whose engine makes tool calls the request did not allow", () => {
  it("does not sign a unary tool call in a chat that offered no tools, says why in its log and metrics, and signs one where tools were offered", async () => {
    // An engine started with tool calling: it calls whatever the request says.
    const h = await nodeBehind((_b, res) => json(res, chat({ tool_calls: [call(0)] }, "tool_calls")), {
      capabilities: { tools: true },
    });
    const response = await h.client.relay.mutate(ask());
    expect(response.outcome).toBe("error");
    expect(response.error?.code).toBe("BACKEND_ERROR");
    expect(response.error?.detail).toMatch(/makes a tool call; the request offered no tools/);
    expect(await refusedByNode("TOOL_CALLS_NOT_OFFERED")).toBe(1);
    expect(warnings()).toEqual([
      expect.objectContaining({ level: "warn", service: "llama-2-13b", rule: "TOOL_CALLS_NOT_OFFERED" }),
    ]);
    // Neither the prompt nor the engine's output reaches the log.
    expect(JSON.stringify(lines)).not.toMatch(/Oslo|lookup/);

    const offered = await h.client.relay.mutate(ask({ tools: [lookup] }));
    expect(offered.outcome).toBe("ok");
    expect(
      (offered.payload as { choices: { message: { tool_calls: unknown[] } }[] }).choices[0]?.message
        .tool_calls,
    ).toHaveLength(1);
    // Without forcedToolChoice the gateway holds no limit for tool_choice none (Ollama may call).
    const none = await h.client.relay.mutate(ask({ tools: [lookup], tool_choice: "none" }));
    expect(none.outcome).toBe("ok");
    expect(await refusedByNode("TOOL_CALLS_NOT_OFFERED")).toBe(1);
  });

  it("does not sign a finish_reason tool_calls (any engine spelling) without a call, nor a function_call", async () => {
    const h = await nodeBehind((body, res) =>
      json(
        res,
        (body.messages as { content: string }[])[0]?.content === "a"
          ? chat({ content: "Sunny" }, "tool_use")
          : chat({ function_call: { name: "lookup", arguments: "{}" } }, "stop"),
      ),
    );
    for (const content of ["a", "b"]) {
      const response = await h.client.relay.mutate(ask({ messages: [{ role: "user", content }] }));
      expect(response.error?.code).toBe("BACKEND_ERROR");
    }
    expect(await refusedByNode("TOOL_CALLS_NOT_OFFERED")).toBe(2);
    // One warning per service and rule in a window; the rest are counted.
    expect(warnings()).toHaveLength(1);
  });

  it("does not sign a call where the request set tool_choice none, on a node that declares it obeys tool_choice", async () => {
    const h = await nodeBehind((_b, res) => json(res, chat({ tool_calls: [call(0)] }, "tool_calls")), {
      capabilities: { tools: true, forcedToolChoice: true },
    });
    const response = await h.client.relay.mutate(ask({ tools: [lookup], tool_choice: "none" }));
    expect(response.error?.code).toBe("BACKEND_ERROR");
    expect(response.error?.detail).toMatch(/tool_choice: "none"/);
  });

  it("does not sign two calls in a choice where the request set parallel_tool_calls: false", async () => {
    const h = await nodeBehind(
      (_b, res) => json(res, chat({ tool_calls: [call(0), call(1)] }, "tool_calls")),
      {
        capabilities: { tools: true, singleToolCall: true },
      },
    );
    const response = await h.client.relay.mutate(ask({ tools: [lookup], parallel_tool_calls: false }));
    expect(response.error?.code).toBe("BACKEND_ERROR");
    expect(await refusedByNode("TOOL_CALLS")).toBe(1);
  });

  it("fails a stream whose first piece makes a call before signing any of it, and streams one where tools were offered", async () => {
    await nodeBehind(
      (_b, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(
          `${piece({ role: "assistant", content: null, tool_calls: [{ index: 0, ...call(0) }] })}${piece({}, "tool_calls")}data: [DONE]\n\n`,
        );
      },
      { capabilities: { tools: true } },
    );
    const chunks = await readAll(ask({ stream: true }));
    // One chunk, the signed error: the gateway tries another node before its client gets a byte.
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.data).toBeNull();
    expect(chunks[0]?.final?.error?.code).toBe("BACKEND_ERROR");
    expect(await refusedByNode("TOOL_CALLS_NOT_OFFERED")).toBe(1);

    const offered = await readAll(ask({ stream: true, tools: [lookup] }));
    expect(offered.at(-1)?.final?.outcome).toBe("ok");
    expect(JSON.stringify(offered.map((c) => c.data))).toMatch(/tool_calls/);
  });

  it("ends a stream whose engine makes a call after text went out, without signing the call", async () => {
    await nodeBehind((_b, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        `${piece({ role: "assistant", content: "Let me" })}${piece({ content: " check" })}${piece({ tool_calls: [{ index: 0, ...call(0) }] })}${piece({}, "tool_calls")}data: [DONE]\n\n`,
      );
    });
    const chunks = await readAll(ask({ stream: true }));
    const signed = JSON.stringify(chunks.map((c) => c.data));
    expect(signed).not.toMatch(/tool_calls|lookup/);
    expect(chunks.at(-1)?.final?.error?.code).toBe("STREAM_INTERRUPTED");
    expect(await refusedByNode("TOOL_CALLS_NOT_OFFERED")).toBe(1);
    expect(warnings()).toHaveLength(1);
  });
});
