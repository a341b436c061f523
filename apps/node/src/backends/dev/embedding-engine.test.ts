import { describe, expect, it } from "vitest";
import { devEmbedding, devEmbeddings } from "./embedding-engine.js";

const cosine = (a: readonly number[], b: readonly number[]) =>
  a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0);

describe("the development backend's embeddings", () => {
  it("are unit vectors, deterministic, and closer for texts that share words", () => {
    const cat = devEmbedding("The cat sat on the mat", 384);
    const cats = devEmbedding("Cats sitting on a mat", 384);
    const money = devEmbedding("Quarterly revenue grew", 384);
    expect(cat).toHaveLength(384);
    expect(cosine(cat, cat)).toBeCloseTo(1, 10);
    expect(devEmbedding("The cat sat on the mat", 384)).toEqual(cat);
    expect(cosine(cat, cats)).toBeGreaterThan(cosine(cat, money) + 0.2);
    expect(devEmbedding("", 8)).toEqual(new Array(8).fill(0));
  });

  it("answer OpenAI's shape for a batch at the asked size, counting words as tokens", () => {
    const answer = devEmbeddings({ model: "m", input: ["one two", "three"], dimensions: 16 });
    expect(answer).toMatchObject({
      object: "list",
      model: "m",
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
    expect(
      (answer.data as { index: number; embedding: number[] }[]).map((d) => [d.index, d.embedding.length]),
    ).toEqual([
      [0, 16],
      [1, 16],
    ]);
  });
});
