import { describe, expect, it } from "vitest";
import { capabilityNeeds, missingCapability } from "./capability-needs.js";
import type { NodeCapabilities } from "./node-service-offer.js";

const names = (operation: string, body: Record<string, unknown>, stream = false) =>
  capabilityNeeds(operation, body, stream).map((need) => `${need.capability}@${need.param}`);

/** What an Ollama node announces: tools, no forced choice, no prompt logprobs (so no echo). */
const ollama: NodeCapabilities = {
  completions: true,
  chat: true,
  streaming: true,
  promptLogprobs: false,
  logprobs: false,
  seed: true,
  tokenize: false,
  n: false,
  tools: true,
  forcedToolChoice: false,
  jsonMode: true,
  jsonSchema: false,
  tokenPrompts: false,
  embeddings: false,
  images: null,
};

describe("capabilityNeeds", () => {
  it("needs an engine that echoes for echo, with or without logprobs", () => {
    expect(names("completions", { prompt: "Hi", echo: true })).toEqual([
      "completions@prompt",
      "promptLogprobs@echo",
    ]);
    expect(names("completions", { prompt: "Hi", echo: true, logprobs: 1 })).toEqual([
      "completions@prompt",
      "promptLogprobs@echo",
    ]);
    expect(names("completions", { prompt: "Hi", echo: false, logprobs: 1 })).toEqual([
      "completions@prompt",
      "logprobs@logprobs",
    ]);
    expect(capabilityNeeds("completions", { prompt: "Hi", echo: true }, false)[1]?.what).toBe(
      "echo (the prompt returned before the answer)",
    );
  });

  it("needs an engine that applies token biases for a logit_bias that biases anything", () => {
    const chat = { messages: [{ role: "user", content: "Hi" }] };
    expect(names("chat.completions", { ...chat, logit_bias: { "50256": -100 } })).toEqual([
      "chat@messages",
      "logitBias@logit_bias",
    ]);
    expect(names("completions", { prompt: "Hi", logit_bias: { "11": 5 } })).toEqual([
      "completions@prompt",
      "logitBias@logit_bias",
    ]);
    // An empty or absent bias changes nothing: any engine serves it.
    expect(names("chat.completions", { ...chat, logit_bias: {} })).toEqual(["chat@messages"]);
    expect(names("chat.completions", { ...chat, logit_bias: null })).toEqual(["chat@messages"]);
    // An engine that does not say it applies them (an older node) is taken as not applying them.
    const needs = capabilityNeeds("chat.completions", { ...chat, logit_bias: { "1": 1 } }, false);
    expect(missingCapability(ollama, needs)?.capability).toBe("logitBias");
    expect(missingCapability({ ...ollama, logitBias: true }, needs)).toBeUndefined();
  });

  it("needs a fill-in-the-middle engine for a completion with a suffix", () => {
    expect(names("completions", { prompt: "def area(r):", suffix: "return result" })).toEqual([
      "completions@prompt",
      "suffix@suffix",
    ]);
    // An empty or absent suffix is OpenAI's default: any engine serves it.
    expect(names("completions", { prompt: "Hi", suffix: "" })).toEqual(["completions@prompt"]);
    expect(names("completions", { prompt: "Hi", suffix: null })).toEqual(["completions@prompt"]);
    // An engine that does not say it writes towards a suffix (an older node) is taken as not doing it.
    const needs = capabilityNeeds("completions", { prompt: "Hi", suffix: "!" }, false);
    expect(missingCapability(ollama, needs)?.capability).toBe("suffix");
    expect(missingCapability({ ...ollama, suffix: true }, needs)).toBeUndefined();
  });

  it("needs a forced-choice engine only when tool_choice forces a call", () => {
    const tools = [{ type: "function", function: { name: "now" } }];
    const chat = { messages: [{ role: "user", content: "Hi" }], tools };
    expect(names("chat.completions", chat)).toEqual(["chat@messages", "tools@tools"]);
    expect(names("chat.completions", { ...chat, tool_choice: "auto" })).toEqual([
      "chat@messages",
      "tools@tools",
    ]);
    expect(names("chat.completions", { ...chat, tool_choice: "required" })).toEqual([
      "chat@messages",
      "tools@tools",
      "forcedToolChoice@tool_choice",
    ]);
    const named = { ...chat, tool_choice: { type: "function", function: { name: "now" } } };
    expect(names("chat.completions", named)).toEqual([
      "chat@messages",
      "tools@tools",
      "forcedToolChoice@tool_choice",
    ]);
    // An Ollama node takes tools, but not a forced choice, nor an echo.
    expect(
      missingCapability(ollama, capabilityNeeds("chat.completions", { ...chat, tool_choice: "auto" }, false)),
    ).toBe(undefined);
    expect(missingCapability(ollama, capabilityNeeds("chat.completions", named, false))?.param).toBe(
      "tool_choice",
    );
    expect(
      missingCapability(ollama, capabilityNeeds("completions", { prompt: "Hi", echo: true }, false))?.param,
    ).toBe("echo");
    // An older announcement without the flag counts as not supported.
    const { forcedToolChoice: _absent, ...older } = ollama;
    expect(
      missingCapability({ ...older, tools: true }, capabilityNeeds("chat.completions", named, false))
        ?.capability,
    ).toBe("forcedToolChoice");
    // At most one tool call: only where tools may be called, and only when the client says so.
    expect(names("chat.completions", { ...chat, parallel_tool_calls: false })).toEqual([
      "chat@messages",
      "tools@tools",
      "singleToolCall@parallel_tool_calls",
    ]);
    expect(names("chat.completions", { ...chat, parallel_tool_calls: true })).toEqual([
      "chat@messages",
      "tools@tools",
    ]);
    expect(names("chat.completions", { messages: chat.messages, parallel_tool_calls: false })).toEqual([
      "chat@messages",
    ]);
    const single = capabilityNeeds("chat.completions", { ...chat, parallel_tool_calls: false }, false);
    expect(missingCapability(ollama, single)?.param).toBe("parallel_tool_calls");
    expect(missingCapability({ ...ollama, singleToolCall: true }, single)).toBeUndefined();
  });
});
