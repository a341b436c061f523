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
    // One token per character: "The opposite of hot is cold." is 28, with the turn's leading space 29.
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
});
