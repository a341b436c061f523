import { describe, expect, it } from "vitest";
import { familyTokenizer, familyTokenizerReady, prepareFamilyTokenizers } from "./family-tokenizer.js";

describe("prepareFamilyTokenizers", () => {
  it("builds each named family's tables once, and only those", () => {
    expect([familyTokenizerReady("llama-2"), familyTokenizerReady("mistral")]).toEqual([false, false]);
    expect(prepareFamilyTokenizers(["llama-2", "llama-2"])).toEqual(["llama-2"]);
    expect([familyTokenizerReady("llama-2"), familyTokenizerReady("mistral")]).toEqual([true, false]);
    expect(prepareFamilyTokenizers(["llama-2"])).toEqual([]);
    expect(familyTokenizer("llama-2").countPrompt("Hello world")).toBe(3);
    // A family first used by counting is built by that count.
    expect(familyTokenizer("mistral").countPrompt("Hello world")).toBeGreaterThan(1);
    expect(familyTokenizerReady("mistral")).toBe(true);
    expect(prepareFamilyTokenizers(["mistral", "llama-2"])).toEqual([]);
  });
});
