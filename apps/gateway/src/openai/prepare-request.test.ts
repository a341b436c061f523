import {
  countRelayInput,
  cutStreamComputeUnits,
  DEFAULT_CATALOG,
  type RelayUsage,
  relayInputs,
  tokensAtLeast,
  tokensAtMost,
} from "@pocket-ai/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PreparedRelay, prepareRelay } from "./prepare-request.js";
import { chargeFor } from "./relay-charge.js";

const prepared = (operation: Parameters<typeof prepareRelay>[1], body: unknown): PreparedRelay => {
  const r = prepareRelay(DEFAULT_CATALOG, operation, body);
  if (!r.ok) throw new Error(r.error.detail ?? r.error.message);
  return r.value;
};
const refusal = (operation: Parameters<typeof prepareRelay>[1], body: unknown) => {
  const r = prepareRelay(DEFAULT_CATALOG, operation, body);
  return r.ok ? undefined : r.error;
};

describe("prepareRelay", () => {
  it("reserves the tier's price and at most input + output tokens, clamping max_tokens", () => {
    const relay = prepared("chat.completions", {
      model: "llama-2-13b:batch",
      messages: [{ role: "user", content: "Hello there" }],
      max_completion_tokens: 4000,
      n: 2,
    });
    expect(relay.body.max_tokens).toBe(500);
    expect(relay.body).not.toHaveProperty("max_completion_tokens");
    expect(relay.maxOutputTokens).toBe(1000);
    // "user: Hello there" is 17 bytes: at most 18 input tokens.
    expect(relay.reservation).toEqual({ requests: 1, tokens: 1018, costMicroUsd: 500 });
  });

  it("refuses only prompts certainly over the tier: more words than tokens allowed", () => {
    expect(refusal("completions", { model: "llama-2-13b", prompt: "word ".repeat(201) })?.code).toBe(
      "INPUT_TOO_LONG",
    );
    // 199 words of many bytes each may still fit the node's exact count: the node decides.
    const longWords = `${"internationalisation ".repeat(199)}`;
    expect(refusal("completions", { model: "llama-2-13b", prompt: longWords })).toBeUndefined();
    expect(
      refusal("completions", { model: "llama-2-13b", prompt: Array.from({ length: 201 }, () => 1) })?.code,
    ).toBe("INPUT_TOO_LONG");
  });

  it("refuses best_of it would otherwise ignore (above n) and below n; takes it equal to n", () => {
    const ask = (extra: Record<string, unknown>) =>
      refusal("completions", { model: "llama-2-13b", prompt: "Hi", max_tokens: 4, ...extra });
    expect(ask({ best_of: 3 })).toMatchObject({ code: "UNSUPPORTED_PARAMETER", param: "best_of" });
    expect(ask({ best_of: 3, n: 2 })).toMatchObject({ code: "UNSUPPORTED_PARAMETER", param: "best_of" });
    expect(ask({ best_of: 1, n: 2 })).toMatchObject({ code: "INVALID_REQUEST", param: "best_of" });
    expect(ask({ best_of: 2, n: 2 })).toBeUndefined();
    expect(ask({ best_of: 1 })).toBeUndefined();
    expect(ask({ best_of: null })).toBeUndefined();
  });

  it("resolves models, and refuses unknown ones and operations the service lacks", () => {
    expect(
      refusal("chat.completions", { model: "nope", messages: [{ role: "user", content: "x" }] }),
    ).toMatchObject({
      code: "UNKNOWN_MODEL",
      param: "model",
    });
    expect(refusal("images.generations", { model: "llama-2-13b", prompt: "a cat" })?.code).toBe(
      "UNSUPPORTED_OPERATION",
    );
    expect(prepared("images.generations", { prompt: "a cat" }).target.service.id).toBe("stable-diffusion");
  });

  it("prices images by standard-image units and checks their limits", () => {
    const relay = prepared("images.generations", {
      model: "stable-diffusion",
      prompt: "a cat",
      size: "1024x1024",
      n: 2,
    });
    expect(relay.reservation.costMicroUsd).toBe(8 * 18_000);
    expect(refusal("images.generations", { prompt: "a cat", size: "2048x512" })?.code).toBe(
      "IMAGE_TOO_LARGE",
    );
  });

  it("bounds chat input from below by words and from above by bytes", () => {
    const inputs = relayInputs("chat.completions", {
      model: "m",
      messages: [{ role: "user", content: "héllo  big world" }],
    });
    expect(countRelayInput(inputs, tokensAtLeast)).toEqual([4]);
    expect(countRelayInput(inputs, tokensAtMost)).toEqual([24]);
    const relay = prepared("chat.completions", {
      model: "llama-2-13b",
      messages: [{ role: "user", content: "héllo  big world" }],
      max_tokens: 10,
    });
    expect(relay.inputTokens).toBe(4);
    expect(relay.reservation.tokens).toBe(24 + 10);
  });

  it("admits a batch of prompts each under the input limit, whose sum is over it", () => {
    const relay = prepared("completions", {
      model: "llama-2-13b",
      prompt: ["word ".repeat(150), "word ".repeat(150), "word ".repeat(150)],
      max_tokens: 1,
    });
    expect(relay.inputTokens).toBe(450);
    expect(relay.maxOutputTokens).toBe(3);
    // Each prompt reserves at most the tier's 200 input tokens.
    expect(relay.reservation.tokens).toBe(3 * 200 + 3);
  });

  it("refuses a chat whose tools schema pushes it over the input limit", () => {
    const chat = { model: "llama-2-13b", messages: [{ role: "user", content: "word ".repeat(150) }] };
    expect(refusal("chat.completions", chat)).toBeUndefined();
    const tools = [{ type: "function", function: { name: "f", description: "word ".repeat(60) } }];
    expect(refusal("chat.completions", { ...chat, tools })).toMatchObject({
      code: "INPUT_TOO_LONG",
      param: "messages",
    });
  });
});

describe("prepareRelay on chat", () => {
  const chat = (extra: Record<string, unknown>) =>
    refusal("chat.completions", {
      model: "llama-2-13b",
      messages: [{ role: "user", content: "hi" }],
      ...extra,
    });

  it("refuses an answer of no tokens and alternatives without logprobs, as OpenAI's chat API does", () => {
    expect(chat({ max_tokens: 0 })).toMatchObject({ code: "INVALID_REQUEST", param: "max_tokens" });
    expect(chat({ max_completion_tokens: 0 })).toMatchObject({
      code: "INVALID_REQUEST",
      param: "max_completion_tokens",
    });
    expect(chat({ top_logprobs: 2 })).toMatchObject({ code: "INVALID_REQUEST", param: "top_logprobs" });
    expect(chat({ top_logprobs: 2, logprobs: false })).toMatchObject({ param: "top_logprobs" });
    for (const fine of [{ max_tokens: 1 }, { top_logprobs: 2, logprobs: true }, { top_logprobs: 0 }])
      expect(chat(fine)).toBeUndefined();
    // Completions keep max_tokens 0: with echo it scores the prompt's own logprobs.
    expect(
      refusal("completions", { model: "llama-2-13b", prompt: "hi", max_tokens: 0, echo: true, logprobs: 1 }),
    ).toBeUndefined();
  });

  const lookup = { type: "function", function: { name: "lookup", parameters: { type: "object" } } };
  const named = (name: string) => ({ type: "function", function: { name } });

  it("refuses a tool_choice that forces a call of no tool given, as OpenAI's API does", () => {
    expect(chat({ tool_choice: "required" })).toMatchObject({
      code: "INVALID_REQUEST",
      param: "tool_choice",
    });
    expect(chat({ tool_choice: named("lookup") })).toMatchObject({
      code: "INVALID_REQUEST",
      param: "tool_choice",
    });
    expect(chat({ tools: [], tool_choice: "required" })).toMatchObject({ param: "tool_choice" });
    expect(chat({ tools: [lookup], tool_choice: named("search") })).toMatchObject({
      code: "INVALID_REQUEST",
      param: "tool_choice.function.name",
    });
    expect(chat({ tools: [lookup], tool_choice: "lookup" })).toMatchObject({ param: "tool_choice" });
    expect(chat({ tools: [lookup], tool_choice: { type: "function" } })).toMatchObject({
      param: "tool_choice.function",
    });
    expect(chat({ tools: [lookup], tool_choice: { type: "allowed_tools" } })).toMatchObject({
      code: "UNSUPPORTED_PARAMETER",
      param: "tool_choice.type",
    });
    for (const fine of [
      { tools: [lookup], tool_choice: named("lookup") },
      { tools: [lookup], tool_choice: "required" },
      { tools: [lookup], tool_choice: "none" },
      { tool_choice: "auto" },
      { tool_choice: null },
    ])
      expect(chat(fine)).toBeUndefined();
  });

  it("relays no tool_choice and no empty tools where they ask for nothing", () => {
    const body = (extra: Record<string, unknown>) =>
      prepared("chat.completions", {
        model: "llama-2-13b",
        messages: [{ role: "user", content: "hi" }],
        ...extra,
      }).body;
    for (const nothing of [{ tool_choice: "auto" }, { tool_choice: "none", tools: [] }, { tools: null }]) {
      expect(body(nothing)).not.toHaveProperty("tool_choice");
      expect(body(nothing)).not.toHaveProperty("tools");
    }
    expect(body({ tools: [lookup], tool_choice: "none" })).toMatchObject({
      tools: [lookup],
      tool_choice: "none",
    });
  });

  const call = (id: string) => ({ id, type: "function", function: { name: "lookup", arguments: "{}" } });
  const calls = (...ids: string[]) => ({ role: "assistant", content: null, tool_calls: ids.map(call) });
  const result = (id: string) => ({ role: "tool", tool_call_id: id, content: "42" });
  const turns = (...messages: unknown[]) =>
    chat({ messages: [{ role: "user", content: "hi" }, ...messages] });

  it("refuses tool results that answer no call before them, or answer one twice, and calls sharing an id", () => {
    expect(turns(result("c1"))).toMatchObject({ code: "INVALID_REQUEST", param: "messages[1].tool_call_id" });
    expect(turns(calls("c1"), result("c2"))).toMatchObject({ param: "messages[2].tool_call_id" });
    // A result before its call answers nothing.
    expect(turns(result("c1"), calls("c1"))).toMatchObject({ param: "messages[1].tool_call_id" });
    expect(turns(calls("c1"), result("c1"), result("c1"))).toMatchObject({
      code: "INVALID_REQUEST",
      param: "messages[3].tool_call_id",
    });
    expect(turns(calls("c1", "c2", "c1"))).toMatchObject({
      code: "INVALID_REQUEST",
      param: "messages[1].tool_calls[2].id",
    });
    // An empty list is no turn of calls: OpenAI's API refuses it, naming the list.
    expect(turns(calls())).toMatchObject({ code: "INVALID_REQUEST", param: "messages[1].tool_calls" });
    expect(turns(calls("c1"), result("c1"), calls())).toMatchObject({ param: "messages[3].tool_calls" });
    for (const fine of [
      [calls("c1", "c2"), result("c2"), result("c1")],
      [calls("c1"), result("c1"), { role: "user", content: "again" }, calls("c1"), result("c1")],
    ])
      expect(turns(...fine)).toBeUndefined();
  });

  it("refuses a tool call that no tool message right after its assistant message answers, as OpenAI's API does", () => {
    const user = { role: "user", content: "and now?" };
    const answer = { role: "assistant", content: "It is noon." };
    expect(turns(calls("c1"))).toMatchObject({
      code: "INVALID_REQUEST",
      param: "messages[1].tool_calls[0].id",
    });
    expect(turns(calls("c1", "c2"), result("c1"), user)).toMatchObject({
      param: "messages[1].tool_calls[1].id",
    });
    expect(turns(calls("c1", "c2"), result("c2"))).toMatchObject({ param: "messages[1].tool_calls[0].id" });
    // A result after another message comes too late: the call was left unanswered.
    expect(turns(calls("c1"), answer, result("c1"))).toMatchObject({ param: "messages[1].tool_calls[0].id" });
    expect(turns(calls("c1"), result("c1"), calls("c2"), { role: "system", content: "x" })).toMatchObject({
      param: "messages[3].tool_calls[0].id",
    });
    // The tool loop the official clients run: calls, their results (in any order), the answer.
    for (const fine of [
      [calls("c1"), result("c1"), answer],
      [calls("c1", "c2", "c3"), result("c2"), result("c3"), result("c1"), answer, user],
      [calls("c1"), result("c1"), calls("c2", "c3"), result("c2"), result("c3")],
    ])
      expect(turns(...fine)).toBeUndefined();
  });

  it("refuses parallel_tool_calls without tools, as OpenAI's API does", () => {
    for (const without of [{}, { tools: [] }, { tools: null }])
      for (const parallel of [true, false])
        expect(chat({ ...without, parallel_tool_calls: parallel })).toMatchObject({
          code: "INVALID_REQUEST",
          param: "parallel_tool_calls",
        });
    for (const fine of [
      { tools: [lookup], parallel_tool_calls: false },
      { tools: [lookup], parallel_tool_calls: true },
      { parallel_tool_calls: null },
    ])
      expect(chat(fine)).toBeUndefined();
  });
});

describe("chargeFor", () => {
  const text = prepared("completions", { model: "llama-2-13b", prompt: "hi", max_tokens: 100 });
  const usage = (outputTokens: number): RelayUsage => ({ inputTokens: 2, outputTokens });

  it("charges a complete text call its tier price, and an interrupted one its delivered share", () => {
    expect(chargeFor(text, usage(100), "complete")).toEqual({ tokens: 102, costMicroUsd: 750 });
    expect(chargeFor(text, usage(10), "interrupted")).toEqual({ tokens: 12, costMicroUsd: 75 });
    expect(chargeFor(text, usage(0), "interrupted").costMicroUsd).toBe(0);
  });

  it("charges an interrupted stream exactly the share its node is paid for it, in integers", () => {
    // 7 of 25 tokens at 750 µUSD: 750 × 7 / 25 = 210 exactly (a float product reads 210.00000000000003).
    const short = prepared("chat.completions", {
      model: "llama-2-13b",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 25,
    });
    expect(chargeFor(short, usage(7), "interrupted").costMicroUsd).toBe(210);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 1200 }), (maxTokens, out) => {
        const relay = prepared("completions", { model: "llama-2-13b", prompt: "hi", max_tokens: maxTokens });
        expect(chargeFor(relay, usage(out), "interrupted").costMicroUsd).toBe(
          cutStreamComputeUnits(relay.target.tier, { outputTokens: out }, relay.maxOutputTokens),
        );
      }),
    );
  });

  it("charges images for the units actually made", () => {
    const images = prepared("images.generations", { prompt: "a cat", size: "512x512", n: 3 });
    expect(chargeFor(images, { inputTokens: 0, outputTokens: 0, images: 2 }, "complete").costMicroUsd).toBe(
      36_000,
    );
  });
});
