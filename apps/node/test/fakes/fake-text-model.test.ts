import { familyTokenizer } from "@pocket-ai/tokens";
import { describe, expect, it } from "vitest";
import { FAKE_VOCABULARY } from "./fake-text-model.js";
import { type FakeTextEngine, startFakeVllm } from "./fake-vllm.js";

describe("the fake engines' vocabulary", () => {
  it("is one token a word in every family a gateway counts exactly, as the fakes count it", () => {
    for (const family of ["llama-2", "mistral"] as const) {
      const counts = FAKE_VOCABULARY.map((word) => familyTokenizer(family).countOutput(word));
      expect(counts).toEqual(FAKE_VOCABULARY.map(() => 1));
    }
  }, 120_000);
});

describe("the fake engines' unseeded draws", () => {
  const complete = async (engine: FakeTextEngine, seed?: number): Promise<string> => {
    const response = await fetch(`${engine.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: engine.model, prompt: "Tell me a story", max_tokens: 12, seed }),
    });
    const body = (await response.json()) as { choices: { text: string }[] };
    return body.choices[0]?.text ?? "";
  };

  it("are numbered per engine: a fresh engine repeats a first engine's words, whatever ran before it", async () => {
    const first = await startFakeVllm();
    const second = await startFakeVllm();
    try {
      const firstWords = [await complete(first), await complete(first)];
      // Seeded calls do not move the unseeded count.
      const seeded = await complete(second, 7);
      const secondWords = [await complete(second), await complete(second)];
      expect(secondWords).toEqual(firstWords);
      expect(firstWords[1]).not.toEqual(firstWords[0]);
      expect(seeded).toEqual(await complete(first, 7));
    } finally {
      await first.close();
      await second.close();
    }
  });
});
