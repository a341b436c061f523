import type { ServerResponse } from "node:http";
import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { TestGateway } from "./helpers/node-harness.js";
import { type EngineAnswer, nodeBehindEngine } from "./helpers/scripted-engine.js";

/**
 * An engine behind the node that answers what the test tells it to. The node signs what it
 * forwards, so each lie here would be the node's own: the gateway refuses it and sanctions the
 * node. The node refuses it first (`BACKEND_ERROR`, retried elsewhere without a sanction).
 */
let running: Awaited<ReturnType<typeof nodeBehindEngine>> | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const gw = new TestGateway();

async function nodeBehind(answer: EngineAnswer, backend: Record<string, unknown> = {}) {
  running = await nodeBehindEngine(answer, backend);
  return running.harness;
}

const json = (res: ServerResponse, value: unknown) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
};

const completion = (text: string, extra: Record<string, unknown> = {}, usage = 1) => ({
  id: "cmpl-1",
  object: "text_completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, text, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 2, completion_tokens: usage, total_tokens: 2 + usage },
  ...extra,
});

const piece = (text: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "text_completion", created: 1, model: "m", choices: [{ index: 0, text, finish_reason: finish, logprobs: null }] })}\n\n`;

async function readAll(request: ReturnType<TestGateway["request"]>): Promise<RelayStreamChunk[]> {
  const chunks: RelayStreamChunk[] = [];
  for await (const c of await running!.harness.client.relayStream.mutate(request))
    chunks.push(c as RelayStreamChunk);
  return chunks;
}

describe("a node in front of an engine that lies", () => {
  it("does not sign usage its engine inflated beyond what the delivered text can hold", async () => {
    const h = await nodeBehind((_b, res) => json(res, completion("Hi", {}, 900)));
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 1000 }),
    );
    expect(response.outcome).toBe("ok");
    // The gateway sanctions any declared output above the text's UTF-8 bytes + 2 per choice.
    expect(response.usage.outputTokens).toBe(Buffer.byteLength("Hi") + 2);
    expect(response.computeUnits).toBeGreaterThan(0);
  });

  it("does not sign an answer whose text is longer than the max_tokens it asked its engine for", async () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
    const h = await nodeBehind((_b, res) => json(res, completion(words, {}, 4)));
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 4 }),
    );
    // 40 words are at least 40 tokens for any tokenizer: the gateway refuses the answer and
    // sanctions the node. The node refuses its engine's answer itself.
    expect(response.outcome).toBe("error");
    expect(response.error?.code).toBe("BACKEND_ERROR");
    expect(response.error?.detail).toMatch(/at least 40 output tokens; the call allowed 4/);
  });

  it("does not sign an answer that carries an `error` member beside its choices", async () => {
    const h = await nodeBehind((_b, res) =>
      json(res, completion("Hi", { error: { message: "you are out of credit", code: 402 } })),
    );
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 8 }),
    );
    // The gateway sanctions any answer with a top-level `error` member (clients read it as the API's).
    expect(response.outcome).toBe("error");
    expect(response.error?.code).toBe("BACKEND_ERROR");
    expect(JSON.stringify(response.error)).not.toMatch(/credit/);
  });

  it("does not stream output its engine sent for a choice after that choice's finish_reason", async () => {
    await nodeBehind((_b, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`${piece("Hi", "stop")}${piece(" more text after the end")}data: [DONE]\n\n`);
    });
    const chunks = await readAll(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 50, stream: true }),
    );
    const texts = chunks
      .filter((c) => c.final === undefined || c.data !== null)
      .map((c) => (c.data as { choices?: { text?: string }[] } | null)?.choices?.[0]?.text ?? "");
    expect(texts).not.toContain(" more text after the end");
    expect(chunks.at(-1)?.final?.error?.code).toBe("STREAM_INTERRUPTED");
  });

  it("does not sign a stream's usage its engine inflated beyond what the streamed text can hold", async () => {
    await nodeBehind((_b, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const usage = { prompt_tokens: 2, completion_tokens: 900, total_tokens: 902 };
      res.end(
        `${piece("Hi", "stop")}data: ${JSON.stringify({ id: "c", object: "text_completion", created: 1, model: "m", choices: [], usage })}\n\ndata: [DONE]\n\n`,
      );
    });
    const chunks = await readAll(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 1000, stream: true }),
    );
    expect(chunks.at(-1)?.final?.outcome).toBe("ok");
    expect(chunks.at(-1)?.final?.usage.outputTokens).toBe(Buffer.byteLength("Hi") + 2);
  });

  it("stops a stream whose engine streams past the output cap, before signing the chunk that passes it", async () => {
    await nodeBehind((_b, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let out = "";
      for (let i = 0; i < 30; i++) out += piece(` w${i}`);
      res.end(`${out}${piece("", "length")}data: [DONE]\n\n`);
    });
    const chunks = await readAll(
      gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 5, stream: true }),
    );
    let words = 0;
    for (const c of chunks) {
      const text = (c.data as { choices?: { text?: string }[] } | null)?.choices?.[0]?.text ?? "";
      words += text.split(/\s+/).filter(Boolean).length;
    }
    // The gateway cuts the stream at the chunk whose words pass 5 and sanctions the node.
    expect(words).toBeLessThanOrEqual(5);
    expect(chunks.at(-1)?.final?.outcome).toBe("error");
    expect(chunks.at(-1)?.final?.error?.code).toBe("STREAM_INTERRUPTED");
  });
});
