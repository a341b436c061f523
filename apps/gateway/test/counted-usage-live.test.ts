import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiarsGateway, startLiarsGateway } from "./support/liars-gateway.js";
import { INPUT_PADDING, type Lie, type LyingNode } from "./support/lying-node.js";

/**
 * The usage a client reads is the usage it is charged for: a real gateway in front of one node,
 * driven by the official `openai` client. A node that signs (and shows) more tokens than the
 * gateway counts, by a margin no check can prove, is billed the gateway's count; the client's
 * `usage` (unary, the streamed usage chunk, `/v1/responses`) says the same numbers as the ledger,
 * not the node's. An honest node's numbers reach the client as it signed them.
 */

const PROMPT = "Tell me a story about the private lighthouse";

let net: LiarsGateway;
let node: LyingNode;
let openai: OpenAI;

beforeAll(async () => {
  net = await startLiarsGateway("counted-usage-test", {});
  node = await net.addNode();
  openai = new OpenAI({ apiKey: net.secret, baseURL: `${net.gateway.url}/v1`, maxRetries: 0 });
}, 120_000);

afterAll(() => net?.close());

/** The ledger's input and output tokens over every relay so far. */
async function ledger(): Promise<{ input: number; output: number }> {
  const rows = await net.admin.admin.reports.usage.query({ to: Date.now() + 3_600_000 });
  return rows.reduce(
    (sum, row) => ({ input: sum.input + row.inputTokens, output: sum.output + row.outputTokens }),
    { input: 0, output: 0 },
  );
}

/** What one call added to the ledger, with what it returned and what the node signed. */
async function charged<T>(lie: Lie, call: () => Promise<T>) {
  node.lie = lie;
  const before = await ledger();
  const result = await call();
  const after = await ledger();
  node.lie = "honest";
  const declared = node.declared!;
  return { result, input: after.input - before.input, output: after.output - before.output, declared };
}

const chat = { model: "llama-2-13b", messages: [{ role: "user" as const, content: PROMPT }], max_tokens: 40 };

/** The usage chunk of a chat stream asked with `include_usage`, and how many chunks carried usage. */
async function streamedUsage() {
  const stream = await openai.chat.completions.create({
    ...chat,
    stream: true,
    stream_options: { include_usage: true },
  });
  const usages: OpenAI.CompletionUsage[] = [];
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of stream) {
    if (chunk.usage != null) usages.push(chunk.usage);
    chunks.push(chunk);
  }
  return { usages, chunks };
}

describe("the usage a client reads", () => {
  it("is the ledger's count of a unary answer, not a padding node's", async () => {
    const { result, input, output, declared } = await charged("padded-usage", () =>
      openai.chat.completions.create(chat),
    );
    // The node signed more than the gateway counted: billed the gateway's count.
    expect(declared.inputTokens).toBeGreaterThan(input);
    expect(result.usage).toEqual({
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      // Details held to the totals they detail; members that are no count, and the node's own
      // figures, dropped.
      prompt_tokens_details: { cached_tokens: input },
      completion_tokens_details: { reasoning_tokens: output },
    });
    expect(result.usage!.prompt_tokens).toBeLessThan(declared.inputTokens - INPUT_PADDING / 2);
  });

  it("is the ledger's count in a stream's usage chunk, written last", async () => {
    const { result, input, output, declared } = await charged("padded-usage", streamedUsage);
    expect(declared.inputTokens).toBeGreaterThan(input);
    // One usage chunk, the last, with no choices: OpenAI's shape.
    expect(result.usages).toEqual([
      {
        prompt_tokens: input,
        completion_tokens: output,
        total_tokens: input + output,
        prompt_tokens_details: { cached_tokens: input },
        completion_tokens_details: { reasoning_tokens: output },
      },
    ]);
    const [first, last] = [result.chunks[0]!, result.chunks.at(-1)!];
    expect(last.choices).toEqual([]);
    expect([last.id, last.model, last.object]).toEqual([first.id, first.model, first.object]);
  });

  it("is the ledger's count in a usage chunk the gateway writes when the node sent none", async () => {
    const { result, input, output } = await charged("no-usage-chunk", streamedUsage);
    expect(result.usages).toEqual([
      { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
    ]);
    const [first, last] = [result.chunks[0]!, result.chunks.at(-1)!];
    expect(last.choices).toEqual([]);
    expect([last.id, last.model, last.object]).toEqual([first.id, first.model, first.object]);
  });

  it("is the ledger's count in /v1/responses, unary and streamed", async () => {
    const request = { model: "llama-2-13b", input: PROMPT, max_output_tokens: 40 };
    const unary = await charged("padded-usage", () => openai.responses.create(request));
    expect(unary.declared.inputTokens).toBeGreaterThan(unary.input);
    expect(unary.result.usage).toMatchObject({
      input_tokens: unary.input,
      output_tokens: unary.output,
      total_tokens: unary.input + unary.output,
    });
    const streamed = await charged("padded-usage", async () => {
      const stream = await openai.responses.create({ ...request, stream: true });
      // `response.incomplete` when the answer ran to `max_output_tokens`.
      let ended: OpenAI.Responses.Response | undefined;
      for await (const event of stream)
        if (event.type === "response.completed" || event.type === "response.incomplete")
          ended = event.response;
      return ended;
    });
    expect(streamed.declared.inputTokens).toBeGreaterThan(streamed.input);
    expect(streamed.result?.usage).toMatchObject({
      input_tokens: streamed.input,
      output_tokens: streamed.output,
      total_tokens: streamed.input + streamed.output,
    });
  });

  it("is an honest node's signed usage, unary and streamed", async () => {
    const unary = await charged("honest", () => openai.chat.completions.create(chat));
    expect(unary.result.usage).toMatchObject({
      prompt_tokens: unary.declared.inputTokens,
      completion_tokens: unary.declared.outputTokens,
      total_tokens: unary.declared.inputTokens + unary.declared.outputTokens,
    });
    expect([unary.input, unary.output]).toEqual([unary.declared.inputTokens, unary.declared.outputTokens]);
    const streamed = await charged("honest", streamedUsage);
    expect(streamed.result.usages).toHaveLength(1);
    expect(streamed.result.usages[0]).toMatchObject({
      prompt_tokens: streamed.declared.inputTokens,
      completion_tokens: streamed.declared.outputTokens,
      total_tokens: streamed.declared.inputTokens + streamed.declared.outputTokens,
    });
    expect([streamed.input, streamed.output]).toEqual([
      streamed.declared.inputTokens,
      streamed.declared.outputTokens,
    ]);
  });

  it("is no usage chunk in a stream that did not ask for it", async () => {
    node.lie = "padded-usage";
    const stream = await openai.chat.completions.create({ ...chat, stream: true });
    const usages: unknown[] = [];
    for await (const chunk of stream) if (chunk.usage != null) usages.push(chunk.usage);
    node.lie = "honest";
    expect(usages).toEqual([]);
  });
});
