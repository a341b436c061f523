import { familyTokenizer } from "@pocket-ai/tokens";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiarsGateway, startLiarsGateway } from "./support/liars-gateway.js";
import { INPUT_PADDING, type Lie, type LyingNode, type Script } from "./support/lying-node.js";

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
  node.script = undefined;
  const declared = node.declared!;
  return { result, input: after.input - before.input, output: after.output - before.output, declared };
}

// Seeded: every attempt at a relay gives the same answer, so the usage the node signed last is the
// answer the client read, however many attempts a busy machine takes (unseeded, one run beside a
// benchmark read 19 completion tokens against the node's last 21).
const chat = {
  model: "llama-2-13b",
  messages: [{ role: "user" as const, content: PROMPT }],
  max_tokens: 40,
  seed: 7,
};

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

/**
 * What an engine generated beyond the text it delivered: the end-of-sequence token of a choice
 * that stopped on its own, the stop string it cut, a tool call's arguments a serializer escaped
 * again. The node is paid, and the client charged and shown, the same count: the text's, plus what
 * ended each choice that stopped, never more.
 */
describe("the output an answer's text does not hold", () => {
  const llama = familyTokenizer("llama-2");
  const count = (text: string) => llama.countOutput(text);
  const TEXT = "The keeper lit the lamp and watched the ships pass the rocks.";
  const STOP = "\n\n### The End of the Story ###";
  const bytes = new TextEncoder().encode(TEXT).length;
  const honest = (outputTokens: number, script: Partial<Script> = {}): Lie => {
    node.script = { text: TEXT, finishReason: "stop", outputTokens, ...script };
    return "scripted";
  };
  const completion = { model: "llama-2-13b", prompt: PROMPT, max_tokens: 40 };

  it("pays and shows the end-of-sequence token of a choice that stopped, unary and streamed", async () => {
    const unary = await charged(honest(count(TEXT) + 1), () => openai.chat.completions.create(chat));
    expect(unary.result.usage?.completion_tokens).toBe(count(TEXT) + 1);
    expect(unary.output).toBe(count(TEXT) + 1);
    const streamed = await charged(honest(count(TEXT) + 1), streamedUsage);
    expect(streamed.result.usages.map((u) => u.completion_tokens)).toEqual([count(TEXT) + 1]);
    expect(streamed.output).toBe(count(TEXT) + 1);
    const completed = await charged(honest(count(TEXT) + 1), () => openai.completions.create(completion));
    expect([completed.result.usage?.completion_tokens, completed.output]).toEqual([
      count(TEXT) + 1,
      count(TEXT) + 1,
    ]);
  });

  it("pays and shows a stop string the engine generated and cut, up to the longest one asked", async () => {
    const cut = count(TEXT) + count(STOP);
    const unary = await charged(honest(cut), () =>
      openai.completions.create({ ...completion, stop: ["\n", STOP] }),
    );
    expect([unary.result.usage?.completion_tokens, unary.output]).toEqual([cut, cut]);
    const streamed = await charged(honest(cut), async () => {
      const stream = await openai.chat.completions.create({
        ...chat,
        stop: STOP,
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      return usage;
    });
    expect([streamed.result?.completion_tokens, streamed.output]).toEqual([cut, cut]);
  });

  it("pays a node that claims all its text's bytes and the request allow no more than that bound", async () => {
    // The most no check refuses: the text's bytes and two per choice, within `max_tokens`.
    const most = Math.min(bytes + 2, chat.max_tokens);
    expect(most).toBeGreaterThan(count(TEXT) + count(STOP));
    // Ran to its limit: nothing generated that the text does not hold.
    const length = await charged(honest(most, { finishReason: "length" }), () =>
      openai.chat.completions.create(chat),
    );
    expect([length.result.usage?.completion_tokens, length.output]).toEqual([count(TEXT), count(TEXT)]);
    // Stopped: one end-of-sequence token more, or the longest stop string asked.
    const stopped = await charged(honest(most), () => openai.chat.completions.create(chat));
    expect([stopped.result.usage?.completion_tokens, stopped.output]).toEqual([
      count(TEXT) + 1,
      count(TEXT) + 1,
    ]);
    const withStop = await charged(honest(most), () =>
      openai.completions.create({ ...completion, stop: [STOP, "\n"] }),
    );
    const cut = count(TEXT) + count(STOP);
    expect([withStop.result.usage?.completion_tokens, withStop.output]).toEqual([cut, cut]);
  });

  it("shows in /v1/responses the end-of-sequence token it bills, unary and streamed", async () => {
    const request = { model: "llama-2-13b", input: PROMPT, max_output_tokens: 40 };
    const most = Math.min(bytes + 2, request.max_output_tokens);
    const unary = await charged(honest(most), () => openai.responses.create(request));
    expect([unary.result.usage?.output_tokens, unary.output]).toEqual([count(TEXT) + 1, count(TEXT) + 1]);
    const streamed = await charged(honest(most), async () => {
      const stream = await openai.responses.create({ ...request, stream: true });
      let ended: OpenAI.Responses.Response | undefined;
      for await (const event of stream) if (event.type === "response.completed") ended = event.response;
      return ended;
    });
    expect([streamed.result?.usage?.output_tokens, streamed.output]).toEqual([
      count(TEXT) + 1,
      count(TEXT) + 1,
    ]);
  });

  it("counts a tool call's arguments as the JSON they decode to, not as a serializer escaped them", async () => {
    const written = String.raw`{"html":"\u003cb\u003eLamp\u003c/b\u003e \u0026 ships \ud83d\udea2"}`;
    const decoded = `{"html":"<b>Lamp</b> & ships 🚢"}`;
    expect(JSON.parse(written)).toEqual(JSON.parse(decoded));
    const generated = count(`lookup${decoded}`);
    // The node signs the count of the arguments as they were escaped.
    const claim = count(`lookup${written}`);
    expect(claim).toBeGreaterThan(generated);
    const tools = [
      { type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } },
    ];
    const script = { text: "", toolArguments: written, finishReason: "tool_calls" } as const;
    const ask = { ...chat, max_tokens: 60, tools };
    expect(claim).toBeLessThanOrEqual(ask.max_tokens);
    const unary = await charged(honest(claim, script), () => openai.chat.completions.create(ask));
    expect(unary.result.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      function: { arguments: written },
    });
    expect([unary.result.usage?.completion_tokens, unary.output]).toEqual([generated, generated]);
    const streamed = await charged(honest(claim, script), async () => {
      const stream = await openai.chat.completions.create({
        ...ask,
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      return usage;
    });
    expect([streamed.result?.completion_tokens, streamed.output]).toEqual([generated, generated]);
  });

  it("passes on a stream made only of its final chunk, and writes its usage chunk", async () => {
    const { result, input, output } = await charged(
      honest(count(TEXT) + 1, { oneChunk: "final" }),
      streamedUsage,
    );
    expect(result.chunks[0]?.choices[0]).toMatchObject({ delta: { content: TEXT }, finish_reason: "stop" });
    expect(result.usages).toEqual([
      { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
    ]);
    expect(output).toBe(count(TEXT) + 1);
    const last = result.chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect([last.id, last.model]).toEqual([result.chunks[0]!.id, result.chunks[0]!.model]);
  });
});
