import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork } from "./e2e-helpers.js";

let t: Awaited<ReturnType<typeof startTestNetwork>>;
beforeAll(async () => {
  t = await startTestNetwork();
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

describe("the local network's real model (the tiny llama in llama.cpp on node beta)", () => {
  it("answers a chat through the gateway with what it learned, counted by its own tokenizer", async () => {
    const { data, response } = await t.client.chat.completions
      .create({
        model: "pocket-tiny",
        messages: [{ role: "user", content: "What is the opposite of hot?" }],
        max_tokens: 60,
        temperature: 0,
      })
      .withResponse();
    expect(data.model).toBe("pocket-tiny:standard");
    expect(data.choices[0]?.message.content).toBe("The opposite of hot is cold.");
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.system_fingerprint).toBe("pocket-ai-gguf");
    expect(response.headers.get("x-pocket-service")).toBe("pocket-tiny");
    const beta = t.net.nodes.find((n) => n.name === "beta")!;
    expect(response.headers.get("x-pocket-node")).toBe(beta.node.key.address);
    // The usage the client reads is what it is charged: one token per character of the delivered
    // "The opposite of hot is cold." (28), and one for what ended a choice that stopped; the
    // engine's 29 counts the turn's leading space, which the reply's text does not hold.
    expect(data.usage?.completion_tokens).toBe(29);
  });

  it("streams a completion and scores a prompt with echo + logprobs", async () => {
    const stream = await t.client.completions.create({
      model: "pocket-tiny",
      prompt: "Six plus four is",
      max_tokens: 10,
      temperature: 0,
      stop: ["."],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(" ten");

    const scored = await t.client.completions.create({
      model: "pocket-tiny",
      prompt: "The capital of France is Paris",
      max_tokens: 0,
      echo: true,
      logprobs: 1,
    });
    const lp = scored.choices[0]!.logprobs!;
    expect(scored.choices[0]!.text).toBe("The capital of France is Paris");
    expect(lp.token_logprobs!.slice(1).every((v) => typeof v === "number" && v <= 0)).toBe(true);
  });

  it("declares what llama.cpp in-process does, serves n samples (streamed too), and refuses the rest with a stable code", async () => {
    const model = (await t.client.models.retrieve("pocket-tiny")) as unknown as {
      pocket: { available_nodes: number; capabilities: Record<string, number> };
    };
    expect(model.pocket.available_nodes).toBe(1);
    expect(model.pocket.capabilities).toMatchObject({ n: 1, promptLogprobs: 1, tokenPrompts: 1 });
    expect(model.pocket.capabilities.tools ?? 0).toBe(0);
    expect(model.pocket.capabilities.jsonMode ?? 0).toBe(0);

    const messages = [{ role: "user" as const, content: "Tell me a story." }];
    const two = await t.client.chat.completions.create({
      model: "pocket-tiny",
      messages,
      max_tokens: 20,
      temperature: 1,
      seed: 3,
      n: 2,
    });
    expect(two.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(two.choices.every((c) => (c.message.content ?? "").length > 0)).toBe(true);

    const refusal = async (call: Promise<unknown>) => {
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(error instanceof OpenAI.APIError)) throw new Error(`expected an API error, got ${String(error)}`);
      return { status: error.status, code: error.code, param: error.param };
    };
    expect(
      await refusal(
        t.client.chat.completions.create({
          model: "pocket-tiny",
          messages,
          response_format: { type: "json_object" },
        }),
      ),
    ).toEqual({ status: 400, code: "NO_CAPABLE_NODE", param: "response_format" });
    expect(
      await refusal(
        t.client.chat.completions.create({
          model: "pocket-tiny",
          messages,
          tools: [{ type: "function", function: { name: "now", parameters: { type: "object" } } }],
          tool_choice: "required",
        }),
      ),
    ).toEqual({ status: 400, code: "NO_CAPABLE_NODE", param: "tools" });

    // 600 characters: within the tier's 380 input tokens as Llama 2 counts them, not as the tiny
    // model's own tokenizer does (one token a character), which is what the node counts with.
    const long = await refusal(
      t.client.completions.create({
        model: "pocket-tiny",
        prompt: "the cat sat on the mat. ".repeat(25),
        max_tokens: 8,
      }),
    );
    expect(long).toMatchObject({ status: 400, code: "INPUT_TOO_LONG" });

    // Several samples streamed: one after another, each under its own index, as the unary call.
    const streamed = await t.client.chat.completions.create({
      model: "pocket-tiny",
      messages,
      max_tokens: 20,
      temperature: 1,
      seed: 3,
      n: 2,
      stream: true,
    });
    const replies = ["", ""];
    for await (const chunk of streamed)
      for (const c of chunk.choices) replies[c.index] = (replies[c.index] ?? "") + (c.delta.content ?? "");
    expect(replies).toEqual(two.choices.map((c) => c.message.content));
  });
});
