import { describe, expect, it } from "vitest";
import {
  ORGANIC_MAX_CHARS,
  ORGANIC_MAX_MESSAGES,
  OrganicSample,
  OrganicSamples,
  organicRequestOf,
} from "./organic-sample.js";

const served = { nodeAddress: "pokt1node", serviceId: "llama-2-13b", output: " there", params: {} };

describe("OrganicSample", () => {
  it("reads samples from gateways that sample completions only (no kind)", () => {
    const old = { ...served, prompt: "Hi", params: { temperature: 0.7 } };
    expect(OrganicSamples.parse({ samples: [old] }).samples[0]).toEqual(old);
  });

  it("reads chat samples and bounds what they carry", () => {
    const chat = { kind: "chat", ...served, stream: true, messages: [{ role: "user", content: "Hi" }] };
    expect(OrganicSample.parse(chat)).toEqual(chat);
    expect(OrganicSample.safeParse({ ...chat, messages: [] }).success).toBe(false);
    expect(OrganicSample.safeParse({ ...chat, messages: [{ role: "tool", content: "x" }] }).success).toBe(
      false,
    );
    const long = "x".repeat(ORGANIC_MAX_CHARS / 2 + 1);
    const twoLong = [
      { role: "user", content: long },
      { role: "assistant", content: long },
    ];
    expect(OrganicSample.safeParse({ ...chat, messages: twoLong }).success).toBe(false);
    expect(OrganicSample.safeParse({ ...chat, output: "x".repeat(ORGANIC_MAX_CHARS + 1) }).success).toBe(
      false,
    );
    // A chat sample is not a completions sample without its prompt.
    expect(OrganicSample.safeParse({ ...served, kind: "chat", prompt: "Hi" }).success).toBe(false);
  });
});

describe("organicRequestOf", () => {
  const messages = [{ role: "user", content: "Hi" }];
  it("takes the prompt or plain-text messages and the sampling parameters", () => {
    expect(
      organicRequestOf("completions", { prompt: "Hi", temperature: 0.5, max_tokens: 9, stop: ["\n"], n: 1 }),
    ).toEqual({ kind: "completions", prompt: "Hi", params: { temperature: 0.5, max_tokens: 9 } });
    expect(
      organicRequestOf("chat.completions", {
        messages: [{ role: "system", content: "Be brief." }, ...messages],
        top_p: 0.9,
        seed: 4,
        max_completion_tokens: 20,
        response_format: { type: "text" },
        tools: [],
        stream: true,
        stream_options: { include_usage: true },
      }),
    ).toEqual({
      kind: "chat",
      messages: [{ role: "system", content: "Be brief." }, ...messages],
      params: { top_p: 0.9, seed: 4, max_tokens: 20 },
    });
  });

  it("leaves out what the reference could not answer the same way", () => {
    const refused: [string, Record<string, unknown>][] = [
      ["completions", { prompt: ["a", "b"] }],
      ["completions", { prompt: [1, 2, 3] }],
      ["completions", { prompt: "Hi", echo: true }],
      ["completions", { prompt: "Hi", suffix: " end" }],
      ["completions", { prompt: "Hi", n: 2 }],
      ["completions", { prompt: "Hi", best_of: 3 }],
      ["completions", { prompt: "x".repeat(ORGANIC_MAX_CHARS + 1) }],
      ["chat.completions", { messages, n: 2 }],
      ["chat.completions", { messages, tools: [{ type: "function" }] }],
      ["chat.completions", { messages, tool_choice: "none" }],
      ["chat.completions", { messages, response_format: { type: "json_object" } }],
      ["chat.completions", { messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] }],
      ["chat.completions", { messages: [{ role: "user", content: "Hi", name: "ann" }] }],
      ["chat.completions", { messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c" }] }] }],
      ["chat.completions", { messages: [{ role: "tool", content: "42", tool_call_id: "c" }] }],
      ["chat.completions", { messages: Array.from({ length: ORGANIC_MAX_MESSAGES + 1 }, () => messages[0]) }],
      ["images", { prompt: "a cat" }],
    ];
    for (const [operation, body] of refused)
      expect(organicRequestOf(operation, body), JSON.stringify(body)).toBeUndefined();
  });
});
