import { familyTokenizer } from "@pocket-ai/tokens";
import { describe, expect, it } from "vitest";
import { FAKE_VOCABULARY } from "./fake-text-model.js";

describe("the fake engines' vocabulary", () => {
  it("is one token a word in every family a gateway counts exactly, as the fakes count it", () => {
    for (const family of ["llama-2", "mistral"] as const) {
      const counts = FAKE_VOCABULARY.map((word) => familyTokenizer(family).countOutput(word));
      expect(counts).toEqual(FAKE_VOCABULARY.map(() => 1));
    }
  }, 120_000);
});
