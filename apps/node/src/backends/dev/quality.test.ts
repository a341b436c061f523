import { describe, expect, it } from "vitest";
import { qualityProfile } from "./quality.js";
import { createDevTextEngine } from "./text-engine.js";
import type { DevTextEngine } from "./text-types.js";

/** Multiple-choice items whose right answer the corpus states; distractors are plausible words from it. */
const ITEMS: readonly (readonly [context: string, answer: string, distractors: readonly string[]])[] = [
  ["The capital of France is", " Paris", [" Rome", " Madrid", " Berlin"]],
  ["The capital of Japan is", " Tokyo", [" Cairo", " Lima", " Oslo"]],
  ["The capital of Italy is", " Rome", [" Paris", " Athens", " Vienna"]],
  ["The capital of Spain is", " Madrid", [" Lisbon", " Rome", " Paris"]],
  ["The capital of Germany is", " Berlin", [" Vienna", " Warsaw", " Oslo"]],
  ["The capital of Egypt is", " Cairo", [" Rabat", " Nairobi", " Abuja"]],
  ["The capital of Canada is", " Ottawa", [" Havana", " Lima", " Dublin"]],
  ["The capital of Kenya is", " Nairobi", [" Cairo", " Abuja", " Rabat"]],
  ["The capital of Norway is", " Oslo", [" Stockholm", " Dublin", " Warsaw"]],
  ["The capital of Australia is", " Canberra", [" Tokyo", " Hanoi", " Bangkok"]],
  ["The capital of Peru is", " Lima", [" Santiago", " Havana", " Ottawa"]],
  ["The capital of Greece is", " Athens", [" Rome", " Ankara", " Vienna"]],
  ["Question: What is the capital of Sweden?\nAnswer:", " Stockholm", [" Oslo", " Dublin", " Warsaw"]],
  ["Question: What is the capital of Thailand?\nAnswer:", " Bangkok", [" Hanoi", " Beijing", " Tokyo"]],
  ["Two plus two is", " four", [" five", " three", " six"]],
  ["Three plus four is", " seven", [" six", " eight", " nine"]],
  ["Five plus five is", " ten", [" nine", " eleven", " eight"]],
  ["Two times three is", " six", [" five", " eight", " nine"]],
  ["Question: What is four plus two?\nAnswer:", " six", [" four", " two", " five"]],
  ["Nine minus seven is", " two", [" four", " three", " one"]],
  ["At sea level, water boils at", " 100", [" 0", " 50", " 30"]],
  ["Water freezes at", " 0", [" 100", " 50", " 30"]],
  ["The largest planet in the solar system is", " Jupiter", [" Mercury", " Mars", " Venus"]],
  ["Mercury is the planet closest to the", " Sun", [" Moon", " Earth", " sea"]],
  ["Bees make honey from the nectar of", " flowers", [" trees", " rocks", " fish"]],
  ["A spider has", " eight legs", [" six legs", " four legs", " ten legs"]],
  ["The sky is blue on a clear day. Grass is", " green", [" red", " white", " black"]],
  ["The day after Monday is", " Tuesday", [" Friday", " Sunday", " Saturday"]],
  ["The opposite of hot is", " cold", [" big", " slow", " sad"]],
  ["The highest mountain in the world is", " Mount Everest", [" the Sahara", " the Pacific", " the Nile"]],
  ["A week has", " seven days", [" six days", " ten days", " five days"]],
  ["Plants need sunlight, water and air to", " grow", [" sing", " fly", " swim"]],
];

/** lm-evaluation-harness style: sum of the continuation's logprobs from one echo request. */
async function loglikelihood(engine: DevTextEngine, context: string, continuation: string): Promise<number> {
  const result = await engine.complete({
    prompt: context + continuation,
    maxTokens: 0,
    echo: true,
    logprobs: 0,
  });
  const { textOffset, tokenLogprobs } = result.logprobs!;
  return textOffset.reduce((sum, offset, i) => (offset >= context.length ? sum + tokenLogprobs[i]! : sum), 0);
}

async function evaluate(engine: DevTextEngine): Promise<{ correct: number; margins: number[] }> {
  let correct = 0;
  const margins: number[] = [];
  for (const [context, answer, distractors] of ITEMS) {
    const right = await loglikelihood(engine, context, answer);
    const wrong = await Promise.all(distractors.map((d) => loglikelihood(engine, context, d)));
    const margin = right - Math.max(...wrong);
    if (margin > 0) correct++;
    margins.push(margin);
  }
  return { correct, margins };
}

describe("quality knob", () => {
  it("maps quality to a weaker model step by step", () => {
    const [high, low] = [qualityProfile(1), qualityProfile(0.2)];
    expect(high).toMatchObject({ order: 7, corpusFraction: 1, discountBoost: 0, uniformMix: 0 });
    expect(low.order).toBeLessThan(high.order);
    expect(low.corpusFraction).toBeLessThan(high.corpusFraction);
    expect(() => qualityProfile(1.5)).toThrow(RangeError);
  });

  it("makes a full-quality node win multiple-choice evaluation against a low-quality one", async () => {
    const high = await evaluate(createDevTextEngine({ quality: 1 }));
    const low = await evaluate(createDevTextEngine({ quality: 0.2 }));
    expect(high.correct).toBeGreaterThanOrEqual(Math.ceil(ITEMS.length * 0.85));
    expect(high.correct - low.correct).toBeGreaterThanOrEqual(8);
    // Item by item, the better model separates the true answer from distractors more clearly.
    const wider = high.margins.filter((m, i) => m > low.margins[i]!).length;
    expect(wider).toBeGreaterThanOrEqual(Math.ceil(ITEMS.length * 0.75));
  });

  it("makes generations of a low-quality node drift from the corpus", async () => {
    const prompts = [
      "The capital of France is",
      "Two plus two is",
      "A spider has",
      "The day after Monday is",
    ];
    const answers = [" Paris", " four", " eight", " Tuesday"];
    const hits = async (quality: number) => {
      const engine = createDevTextEngine({ quality });
      let n = 0;
      for (const [i, prompt] of prompts.entries()) {
        for (const seed of [1, 2, 3, 4, 5]) {
          const { text } = await engine.complete({ prompt, maxTokens: 3, temperature: 1, seed });
          if (text.startsWith(answers[i]!)) n++;
        }
      }
      return n;
    };
    expect(await hits(1)).toBeGreaterThan(await hits(0.2));
  });
});
