import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadCorpus, splitDocuments } from "./corpus.js";
import { trainNgramModel } from "./ngram-model.js";
import { qualityProfile } from "./quality.js";
import { createRng } from "./rng.js";
import { buildTokenizer } from "./tokenizer.js";

const corpus = loadCorpus();
const tokenizer = buildTokenizer(corpus);
const documents = splitDocuments(corpus).map((d) => tokenizer.encode(d));
const models = [1, 0.5, 0.2, 0].map((q) =>
  trainNgramModel(documents, tokenizer.vocabSize, tokenizer.eosToken, qualityProfile(q)),
);
const full = models[0]!;

const contexts = [
  "",
  "The capital of France is",
  "Once upon a time",
  "zzq unseen words ☃",
  "User: What is two plus two?\nAssistant:",
].map((t) => tokenizer.encode(t));

describe("n-gram model", () => {
  it("uses order 7 at full quality and shorter contexts below", () => {
    expect(models.map((m) => m.order)).toEqual([7, 5, 3, 2]);
  });

  it("gives a distribution summing to one over the whole vocabulary", () => {
    for (const model of models) {
      for (const context of contexts) {
        const probs = model.distribution(context);
        expect(probs.length).toBe(tokenizer.vocabSize);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
        expect(Math.min(...probs)).toBeGreaterThan(0);
      }
    }
  });

  it("stays normalized after any token sequence", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: tokenizer.vocabSize - 1 }), { maxLength: 8 }),
        (context) => {
          expect(full.distribution(context).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("agrees between logprob and the distribution", () => {
    for (const context of contexts) {
      const probs = full.distribution(context);
      for (const token of [0, 1, 300, tokenizer.vocabSize - 1, ...context]) {
        expect(full.logprob(context, token)).toBeCloseTo(Math.log(probs[token]!), 10);
      }
    }
  });

  it("predicts what the corpus says", () => {
    const context = tokenizer.encode("The capital of France is");
    const [best] = full.topLogprobs(context, 3);
    expect(tokenizer.tokenName(best!.token)).toBe(" Paris");
    expect(Math.exp(best!.logprob)).toBeGreaterThan(0.5);
  });

  it("lists top logprobs most probable first", () => {
    const top = full.topLogprobs(tokenizer.encode("Once upon a"), 10);
    expect(top).toHaveLength(10);
    for (let i = 1; i < top.length; i++) expect(top[i]!.logprob).toBeLessThanOrEqual(top[i - 1]!.logprob);
  });

  it("samples greedily at temperature 0 and reproducibly with a seed", () => {
    const context = tokenizer.encode("Bees make");
    const greedy = full.topLogprobs(context, 1)[0]!.token;
    const options = { temperature: 0, topP: 1, topK: 0, rng: createRng(1) };
    expect(full.sample(context, options)).toBe(greedy);
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 20 }, () => full.sample([], { temperature: 1, topP: 1, topK: 0, rng }));
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it("refuses tokens outside the vocabulary", () => {
    expect(() => full.logprob([], tokenizer.vocabSize)).toThrow(RangeError);
  });
});
