import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG } from "../catalog/default-catalog.js";
import { resolveModelName } from "../catalog/model-names.js";
import { findService, findTier } from "../catalog/service-lookup.js";
import type { TextTierSpec } from "../catalog/tier-spec.js";
import type { ChatCompletionRequest } from "../openai/chat-request.js";
import { relayBudget, relayBudgetOfCounts, relayOutputCap } from "./relay-budget.js";
import { countRelayInput, relayInputs } from "./relay-input.js";
import { tokensAtLeast, tokensAtMost } from "./token-bounds.js";

const llama = (() => {
  const r = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
  if (!r.ok) throw new Error(r.error.detail);
  return r.value;
})();
const standard = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard") as TextTierSpec;
const words = (n: number) => "word ".repeat(n).trim();

describe("relayInputs", () => {
  it("counts a completions batch prompt by prompt, suffix included in each", () => {
    const inputs = relayInputs("completions", { model: "m", prompt: ["a b", "c"], suffix: "c d e" });
    expect(inputs).toEqual([
      [{ text: "a b" }, { text: "c d e" }],
      [{ text: "c" }, { text: "c d e" }],
    ]);
    expect(countRelayInput(inputs, tokensAtLeast)).toEqual([5, 4]);
    const ids = relayInputs("completions", { model: "m", prompt: [[1, 2, 3], [4]], suffix: "x" });
    expect(countRelayInput(ids, tokensAtLeast)).toEqual([4, 2]);
  });

  it("counts a chat's messages, tool schemas and response schema as one prompt; stop sequences not", () => {
    const chat: ChatCompletionRequest = {
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      ],
      tools: [{ type: "function", function: { name: "weather", description: "Looks up the weather" } }],
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } },
      stop: ["never counted"],
    };
    const [prompt, ...rest] = relayInputs("chat.completions", chat);
    expect(rest).toEqual([]);
    const text = (prompt![0] as { text: string }).text;
    expect(text.startsWith("system: Be brief.\nuser: Weather in Paris?\n")).toBe(true);
    expect(text).toContain(
      '{"function":{"description":"Looks up the weather","name":"weather"},"type":"function"}',
    );
    expect(text).toContain('{"name":"answer","schema":{"type":"object"}}');
    expect(text).not.toContain("never counted");
  });

  it("property: a schema's key order does not change the count", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string()), (props) => {
        const reversed = Object.fromEntries(Object.entries(props).reverse());
        const count = (tool: Record<string, unknown>) =>
          countRelayInput(
            relayInputs("chat.completions", {
              model: "m",
              messages: [{ role: "user", content: "x" }],
              tools: [{ type: "function", ...tool }],
            }),
            tokensAtMost,
          );
        expect(count(props)).toEqual(count(reversed));
      }),
    );
  });
});

describe("tokensAtLeast / tokensAtMost", () => {
  it("property: the lower bound never exceeds the upper bound", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", " ", "é", "\n", "字", "😀", "\t") }), (text) => {
        expect(tokensAtLeast(text)).toBeLessThanOrEqual(tokensAtMost(text));
      }),
    );
  });
});

describe("relayOutputCap", () => {
  it("clamps max_tokens to the tier shared among prompts × n", () => {
    expect(
      relayOutputCap("completions", { model: "m", prompt: ["a", "b"], max_tokens: 800 }, standard),
    ).toEqual({
      prompts: 2,
      n: 1,
      choices: 2,
      maxTokens: 500,
      maxOutputTokens: 1000,
    });
    expect(
      relayOutputCap(
        "chat.completions",
        {
          model: "m",
          messages: [{ role: "user", content: "x" }],
          max_tokens: 90,
          max_completion_tokens: 70,
          n: 3,
        },
        standard,
      ),
    ).toMatchObject({ choices: 3, maxTokens: 70, maxOutputTokens: 210 });
  });

  it("property: the cap never exceeds the request nor the tier", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
        (prompts, n, maxTokens) => {
          const cap = relayOutputCap(
            "completions",
            { model: "m", prompt: Array.from({ length: prompts }, () => "p"), n, max_tokens: maxTokens },
            standard,
          );
          expect(cap.choices).toBe(prompts * n);
          expect(cap.maxOutputTokens).toBe(cap.maxTokens * cap.choices);
          expect(cap.maxOutputTokens).toBeLessThanOrEqual(standard.limits.maxOutputTokens);
          if (maxTokens !== undefined) expect(cap.maxTokens).toBeLessThanOrEqual(maxTokens);
        },
      ),
    );
  });
});

describe("relayBudget", () => {
  it("admits a batch whose prompts are each under the limit, though their sum is over", () => {
    const batch = { model: "m", prompt: [words(150), words(150), words(150)], max_tokens: 10 };
    const budget = relayBudget("completions", batch, llama, tokensAtLeast);
    expect(budget).toEqual({
      ok: true,
      value: {
        promptTokens: [150, 150, 150],
        inputTokens: 450,
        prompts: 3,
        n: 1,
        choices: 3,
        maxTokens: 10,
        maxOutputTokens: 30,
      },
    });
  });

  it("refuses the one prompt of a batch that is over, naming it", () => {
    const budget = relayBudget(
      "completions",
      { model: "m", prompt: ["a", words(201)] },
      llama,
      tokensAtLeast,
    );
    expect(!budget.ok && budget.error).toMatchObject({ code: "INPUT_TOO_LONG", param: "prompt" });
    expect(!budget.ok && budget.error.detail).toContain("prompt 1 of the batch has 201 input tokens");
  });

  it("refuses a chat whose tool schemas push it over the input limit", () => {
    const chat: ChatCompletionRequest = { model: "m", messages: [{ role: "user", content: words(100) }] };
    expect(relayBudget("chat.completions", chat, llama, tokensAtLeast).ok).toBe(true);
    const tools = [{ type: "function", function: { name: "f", description: words(120) } }];
    const budget = relayBudget("chat.completions", { ...chat, tools }, llama, tokensAtLeast);
    expect(!budget.ok && budget.error).toMatchObject({ code: "INPUT_TOO_LONG", param: "messages" });
  });

  it("refuses a batch whose choices leave less than one output token each, naming the batch, not max_tokens", () => {
    // 1001 prompts share the tier's 1000 output tokens: none is left for any, whatever max_tokens says.
    const prompt = Array.from({ length: 1001 }, () => "a");
    const budget = relayBudget("completions", { model: "m", prompt, max_tokens: 16 }, llama, tokensAtLeast);
    expect(!budget.ok && budget.error).toMatchObject({ code: "INVALID_REQUEST", param: "prompt" });
    expect(!budget.ok && budget.error.detail).toContain(
      "1001 choices (prompts × n) share the 1000 output tokens",
    );
    expect(!budget.ok && budget.error.detail).not.toContain("max_tokens 0");
    // A batch past the most choices a call takes is told to split, whatever its output share.
    const huge = relayBudget(
      "completions",
      { model: "m", prompt: Array.from({ length: 5000 }, () => "a"), max_tokens: 16 },
      llama,
      tokensAtLeast,
    );
    expect(!huge.ok && huge.error.detail).toContain("5000 choices; one call takes at most 4096");
    // The client's own 0 without echo keeps its message; with echo the batch scores its prompts.
    const zero = relayBudget("completions", { model: "m", prompt: "a", max_tokens: 0 }, llama, tokensAtLeast);
    expect(!zero.ok && zero.error).toMatchObject({ code: "INVALID_REQUEST", param: "max_tokens" });
    expect(
      relayBudget("completions", { model: "m", prompt, max_tokens: 16, echo: true }, llama, tokensAtLeast).ok,
    ).toBe(true);
  });

  it("refuses text calls on an image tier", () => {
    const sd = resolveModelName(DEFAULT_CATALOG, "stable-diffusion");
    if (!sd.ok) throw new Error("no stable-diffusion");
    const budget = relayBudget("completions", { model: "m", prompt: "x" }, sd.value, tokensAtLeast);
    expect(!budget.ok && budget.error.code).toBe("UNSUPPORTED_OPERATION");
  });

  it("property: admitted exactly when every prompt is within the limit; input is their sum", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 260 }), { minLength: 1, maxLength: 5 }), (sizes) => {
        const prompt = sizes.map((size) => Array.from({ length: Math.max(1, size) }, () => 7));
        const budget = relayBudget(
          "completions",
          { model: "m", prompt, max_tokens: 1 },
          llama,
          tokensAtLeast,
        );
        const lengths = prompt.map((ids) => ids.length);
        expect(budget.ok).toBe(lengths.every((n) => n <= 200));
        if (budget.ok) expect(budget.value.inputTokens).toBe(lengths.reduce((a, b) => a + b, 0));
      }),
    );
  });

  it("property: a lower-bound counter never refuses what an exact counter admits", () => {
    // Whitespace-split tokenizers give each word at least one token: model that by a random count per word.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 260 }), (perWord) => {
        const text = perWord.map((_, i) => `w${i}`).join(" ");
        const exact = (t: string) => (t === text ? perWord.reduce((a, b) => a + b, 0) : tokensAtMost(t));
        const request = { model: "m", prompt: text };
        const byExact = relayBudget("completions", request, llama, exact);
        const byBound = relayBudget("completions", request, llama, tokensAtLeast);
        if (byExact.ok) expect(byBound.ok).toBe(true);
      }),
    );
  });
});

describe("relayBudgetOfCounts", () => {
  it("applies the budget rule to counts given per prompt, as relayBudget does to counted ones", () => {
    const batch = { model: "m", prompt: ["a", "b"], max_tokens: 800 };
    expect(relayBudgetOfCounts("completions", batch, llama, [150, 200])).toEqual({
      ok: true,
      value: {
        promptTokens: [150, 200],
        inputTokens: 350,
        prompts: 2,
        n: 1,
        choices: 2,
        maxTokens: 500,
        maxOutputTokens: 1000,
      },
    });
    const over = relayBudgetOfCounts("completions", batch, llama, [150, 201]);
    expect(!over.ok && over.error).toMatchObject({ code: "INPUT_TOO_LONG", param: "prompt" });
  });

  it("property: equals relayBudget with the counter that gave the counts", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 260 }), { minLength: 1, maxLength: 4 }), (sizes) => {
        const request = { model: "m", prompt: sizes.map((n) => words(n)), max_tokens: 50 };
        const counts = countRelayInput(relayInputs("completions", request), tokensAtLeast);
        expect(relayBudgetOfCounts("completions", request, llama, counts)).toEqual(
          relayBudget("completions", request, llama, tokensAtLeast),
        );
      }),
    );
  });
});
