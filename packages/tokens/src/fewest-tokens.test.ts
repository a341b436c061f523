import fc from "fast-check";
import llamaTokenizer from "llama-tokenizer-js";
import mistralTokenizer from "mistral-tokenizer-js";
import { describe, expect, it } from "vitest";
import { familyTokenizer, type TokenizerFamily } from "./family-tokenizer.js";

const VOCABS: Record<TokenizerFamily, readonly string[]> = {
  "llama-2": llamaTokenizer.vocabById,
  mistral: mistralTokenizer.vocabById,
};

describe("fewestOutput: the fewest tokens of a family's vocabulary that spell a text", () => {
  const llama = familyTokenizer("llama-2");

  it("counts a sampled spelling the merges would not make, and characters outside the vocabulary in bytes", () => {
    expect(llama.countOutput(" senzamatrix")).toBe(5);
    expect(llama.fewestOutput(" senzamatrix")).toBe(2);
    expect(llama.fewestOutput(" Hello world")).toBe(2);
    expect(llama.fewestOutput("😀")).toBe(4);
    expect(llama.fewestOutput("")).toBe(0);
  });

  for (const family of ["llama-2", "mistral"] as const) {
    it(`${family}: never counts more than an engine that sampled the tokens, nor more than the merges`, () => {
      const tokenizer = familyTokenizer(family);
      // Text pieces of the vocabulary (byte and control tokens decode to other text).
      const pieces = VOCABS[family].filter((piece) => !/^<.*>$/.test(piece));
      fc.assert(
        fc.property(fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 12 }), (sampled) => {
          const text = sampled.join("").replaceAll("▁", " ");
          const fewest = tokenizer.fewestOutput(text);
          expect(fewest).toBeLessThanOrEqual(sampled.length);
          expect(fewest).toBeLessThanOrEqual(tokenizer.countOutput(text));
        }),
        { numRuns: 300 },
      );
    });
  }
});
