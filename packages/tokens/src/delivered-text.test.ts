import { describe, expect, it } from "vitest";
import { DeliveredText, generatedJson, outputBounds } from "./delivered-text.js";
import { familyTokenizer, tokenizerFamilyOf } from "./family-tokenizer.js";

const llama = familyTokenizer("llama-2");

describe("family tokenizers", () => {
  it("count prompts with the BOS token and output without it", () => {
    expect(llama.countPrompt("Hello world")).toBe(3);
    expect(llama.countOutput("Hello world")).toBe(2);
    expect(familyTokenizer("mistral").countPrompt("Hello world")).toBe(3);
    expect(llama.countOutput("")).toBe(0);
  });

  it("name the family of a model", () => {
    expect(tokenizerFamilyOf("meta-llama/Llama-2-13b-chat-hf")).toBe("llama-2");
    expect(tokenizerFamilyOf("mistral-7b")).toBe("mistral");
    expect(tokenizerFamilyOf("stable-diffusion")).toBeUndefined();
  });

  it("name no family for the Mistral models that count with Tekken, whose counts are not ours", () => {
    for (const sentencePiece of [
      "mistralai/Mistral-7B-Instruct-v0.3",
      "mistral:7b",
      "mistralai/Mistral-Small-Instruct-2409",
      "mistral-small:22b",
      "mistralai/Mistral-Large-Instruct-2407",
      // Mixtral: 8x7B has Mistral 7B's tokenizer, 8x22B its v0.3 one; bare names (Ollama's) too.
      "mixtral:8x7b",
      "mixtral:8x22b",
      "Mixtral-8x7B-Instruct-v0.1",
      "mistralai/Mixtral-8x22B-Instruct-v0.1",
    ])
      expect(tokenizerFamilyOf(sentencePiece), sentencePiece).toBe("mistral");
    for (const tekken of [
      "mistralai/Mistral-Nemo-Instruct-2407",
      "mistral-nemo",
      "mistralai/Mistral-Small-24B-Instruct-2501",
      "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
      "mistral-small3.2",
      "mistral-small",
      "mistral-medium-3",
      "mistralai/Ministral-8B-Instruct-2410",
      "mistralai/Pixtral-12B-2409",
    ])
      expect(tokenizerFamilyOf(tekken), tekken).toBeUndefined();
  });
});

describe("delivered text", () => {
  it("counts words across pieces that split a word, and pieces", () => {
    const text = new DeliveredText();
    for (const piece of ["Hel", "lo", " big", " wor", "ld"]) {
      text.add({ choices: [{ index: 0, delta: { content: piece } }] });
    }
    // 5 pieces, 3 words: each piece carried at least one token.
    expect(text.lowerBound).toBe(5);
    const counted = text.count({ exact: llama, family: llama });
    expect(counted.atLeast).toBeGreaterThanOrEqual(5);
    // The bill follows the tokenizer's count of the text, however finely the node split it.
    expect(counted.atMost).toBe(llama.countOutput("Hello big world"));
  });

  it("sums choices, tool calls and refusals; ignores junk", () => {
    const text = new DeliveredText();
    text.add({
      choices: [
        {
          index: 0,
          message: { content: "one two", tool_calls: [{ function: { name: "f", arguments: "{}" } }] },
        },
        { index: 1, text: "three four five" },
        { index: 2, message: { refusal: "no" } },
        null,
      ],
    });
    text.add("junk");
    text.add({ choices: "junk" });
    expect(text.choices).toBe(3);
    // Choice 0: three pieces (content, name, arguments); choice 1: three words; choice 2: one piece.
    expect(text.lowerBound).toBe(3 + 3 + 1);
  });

  it("proves an overrun with the exact tokenizer where words do not (one long word)", () => {
    const text = new DeliveredText();
    text.add({ choices: [{ index: 0, text: "x".repeat(400) }] });
    expect(text.lowerBound).toBe(1);
    expect(text.count({ exact: llama, family: llama }).atLeast).toBeGreaterThan(40);
    // Without the node's exact tokenizer, the family count only caps the bill.
    const dev = text.count(outputBounds({ kind: "dev", exact: true }, llama));
    expect(dev.atLeast).toBe(1);
    expect(dev.atMost).toBeGreaterThan(40);
    // Without any tokenizer, bytes cap the bill.
    expect(text.count().atMost).toBe(400);
  });

  it("picks exact counting only for the tokenizer the node declared", () => {
    expect(outputBounds({ kind: "llama-2", exact: true }, llama).exact).toBe(llama);
    // An engine's own tokenizer is the family's only by the model's name, which can be wrong.
    expect(outputBounds({ kind: "backend", exact: true }, llama)).toEqual({ family: llama });
    expect(outputBounds({ kind: "estimate", exact: false }, llama).exact).toBeUndefined();
    expect(outputBounds({ kind: "llama-2", exact: true }, undefined)).toEqual({});
  });

  it("runs the tokenizer once per text, and again once more text arrives", () => {
    const texts: string[] = [];
    const counting = {
      family: "llama-2" as const,
      countPrompt: (t: string) => llama.countPrompt(t),
      countOutput: (t: string) => {
        texts.push(t);
        return llama.countOutput(t);
      },
      fewestOutput: (t: string) => llama.fewestOutput(t),
    };
    const text = new DeliveredText();
    text.add({ choices: [{ index: 0, delta: { content: "Hello big" } }] });
    const bounds = { exact: counting, family: counting };
    const first = text.count(bounds);
    expect(text.count(bounds)).toEqual(first);
    expect(texts).toEqual(["Hello big"]);
    text.add({ choices: [{ index: 0, delta: { content: " world" } }] });
    expect(text.count(bounds).atMost).toBe(llama.countOutput("Hello big world"));
    expect(texts).toEqual(["Hello big", "Hello big world"]);
    expect(text.words).toBe(3);
    // Other bounds are counted for themselves.
    expect(text.count().atMost).toBe(15);
  });

  it("keeps the text's UTF-8 bytes as pieces arrive, with or without the text itself", () => {
    const pieces = ["Héllo ", "wörld ", "日本 ", "🙂", " done"];
    const whole = new TextEncoder().encode(pieces.join("")).length;
    const kept = new DeliveredText();
    const counted = new DeliveredText({ keepText: false });
    for (const content of pieces) {
      kept.add({ choices: [{ index: 0, delta: { content } }] });
      counted.add({ choices: [{ index: 0, delta: { content } }] });
    }
    expect(kept.provableMax).toBe(whole);
    expect(counted.provableMax).toBe(whole);
    expect(counted.lowerBound).toBe(kept.lowerBound);
    expect(counted.words).toBe(kept.words);
    expect(kept.count().atMost).toBe(whole);
    // Without the text there is nothing for a tokenizer to count.
    expect(() => counted.count()).toThrow(/keepText/);
  });
});

describe("what an engine generated beyond the delivered text", () => {
  it("counts the choices that stopped, whichever chunk said so", () => {
    const text = new DeliveredText();
    text.add({ choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] });
    text.add({ choices: [{ index: 1, delta: { content: "Yo" }, finish_reason: "length" }] });
    expect(text.stopped).toBe(0);
    text.add({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    expect(text.stopped).toBe(1);
  });

  it("counts a tool call's arguments as the JSON they decode to", () => {
    const escaped = new DeliveredText();
    escaped.add({
      choices: [
        {
          index: 0,
          message: {
            tool_calls: [{ function: { name: "f", arguments: String.raw`{"a":"\u003cb\u003e"}` } }],
          },
        },
      ],
    });
    const plain = new DeliveredText();
    plain.add({
      choices: [
        { index: 0, message: { tool_calls: [{ function: { name: "f", arguments: `{"a":"<b>"}` } }] } },
      ],
    });
    expect(escaped.count()).toEqual(plain.count());
    expect(escaped.count().atMost).toBe(new TextEncoder().encode(`f{"a":"<b>"}`).length);
  });

  it("decodes only the escapes JSON lets stand as characters", () => {
    expect(generatedJson(String.raw`{"q":"\u003cb\u003e \"x\" \ud83d\ude00 \/"}`)).toBe(
      `{"q":"<b> \\"x\\" 😀 /"}`,
    );
    // A quote, a backslash, control characters and lone surrogates stay escaped; an escaped backslash is no escape.
    const kept = String.raw`"\u0022 \u005c \u000a \ud83d \ude00 \\u003c \u00"`;
    expect(generatedJson(kept)).toBe(kept);
    expect(generatedJson(String.raw`"\u0041\ude00"`)).toBe(String.raw`"A\ude00"`);
  });
});
