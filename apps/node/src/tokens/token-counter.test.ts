import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { chooseTokenCounter, estimateTokenCounter, familyTokenizer } from "./token-counter.js";

describe("token counting", () => {
  it("uses the real Llama 2 tokenizer for the llama-2 family", () => {
    const counter = familyTokenizer("llama-2-13b-chat");
    expect(counter?.kind).toBe("llama-2");
    // Llama 2's SentencePiece vocabulary: BOS + "▁Hello" + "▁world" = 3 tokens.
    expect(Effect.runSync(counter!.count("Hello world"))).toBe(3);
    // A word the vocabulary splits: more tokens than words.
    expect(Effect.runSync(counter!.count("antidisestablishmentarianism"))).toBeGreaterThan(2);
  });

  it("uses the Mistral tokenizer for mistral models", () => {
    const counter = familyTokenizer("Mistral-7B-Instruct-v0.2");
    expect(counter?.kind).toBe("mistral");
    expect(Effect.runSync(counter!.count("Hello world"))).toBe(3);
  });

  it("prefers the declared family's tokenizer, then the backend's, then the flagged estimate", () => {
    expect(chooseTokenCounter({ family: "llama-2", backendTokenize: () => Effect.succeed(7) }).kind).toBe(
      "llama-2",
    );
    const backend = chooseTokenCounter({
      family: "some-new-model",
      backendTokenize: () => Effect.succeed(7),
    });
    expect(backend.kind).toBe("backend");
    expect(Effect.runSync(backend.count("x"))).toBe(7);
    const unknown = chooseTokenCounter({ family: "some-new-model" });
    expect(unknown).toBe(estimateTokenCounter);
    expect(unknown.exact).toBe(false);
    expect(Effect.runSync(unknown.count("abcdefghi"))).toBe(3);
  });
});
