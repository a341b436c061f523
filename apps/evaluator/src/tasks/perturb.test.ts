import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { createRng } from "../runs/rng.js";
import { buildItem } from "./build-item.js";
import { loadSuite } from "./load-task.js";
import { numberWords } from "./perturb.js";
import type { Task } from "./task-definition.js";
import { TaskDefinition } from "./task-definition.js";

const words = Array.from({ length: 100 }, (_, i) => numberWords(i));
const numberOf = (word: string) => words.indexOf(word.toLowerCase());

describe("item perturbation", () => {
  const suite = Effect.runSync(loadSuite([]));

  it("writes numbers in words", () => {
    expect([0, 7, 13, 20, 42, 99].map(numberWords)).toEqual([
      "zero",
      "seven",
      "thirteen",
      "twenty",
      "forty-two",
      "ninety-nine",
    ]);
  });

  it("makes byte-identical prompts across runs rare on the starter suite", () => {
    let same = 0;
    let pairs = 0;
    for (const task of suite) {
      task.docs.forEach((_, i) => {
        const a = buildItem(task, i, createRng(1000 + i));
        const b = buildItem(task, i, createRng(2000 + i));
        const text = (r: typeof a) => (r.kind === "loglikelihood" ? r.context : r.prompt);
        pairs += 1;
        if (text(a) === text(b)) same += 1;
      });
    }
    // Before perturbation two thirds of the prompts were identical from run to run.
    expect(same / pairs).toBeLessThan(0.2);
  });

  it("gives fresh numbers with the gold choice following the computed answer", () => {
    const task = suite.find((t) => t.definition.task === "subtraction_mc")!;
    let fresh = 0;
    for (let seed = 0; seed < 200; seed++) {
      const item = buildItem(task, seed % task.docs.length, createRng(seed));
      if (item.kind !== "loglikelihood") throw new Error("multiple choice expected");
      const [, a, b] = item.context.match(/(\S+) minus (\S+) is$/) ?? [];
      const gold = item.continuations[item.gold]!.trim();
      expect(numberOf(a!) - numberOf(b!)).toBe(numberOf(gold));
      expect(new Set(item.continuations).size).toBe(item.continuations.length);
      if (item.varied) fresh += 1;
    }
    // Half the items get fresh numbers (`share: 0.5`).
    expect(fresh).toBeGreaterThan(60);
    expect(fresh).toBeLessThan(140);
  });

  it("puts the gold choice at every position about equally often", () => {
    const task = suite.find((t) => t.definition.task === "capitals_mc")!;
    const at = [0, 0, 0, 0];
    for (let seed = 0; seed < 400; seed++) {
      const item = buildItem(task, seed % task.docs.length, createRng(seed));
      if (item.kind === "loglikelihood") at[item.gold]! += 1;
    }
    for (const count of at) expect(count).toBeGreaterThan(60);
  });

  it("swaps words consistently in the text and the target, and paraphrases the item text", () => {
    const definition = TaskDefinition.parse({
      task: "names",
      category: "creative",
      output_type: "generate_until",
      dataset_path: "x.jsonl",
      doc_to_text: "{{who}} went to the",
      doc_to_target: "{{place}}",
      metric_list: [{ metric: "contains" }],
      perturb: { words: { Mira: ["Nora"] }, doc_to_text: ["At the {{place}}, {{who}} saw"] },
    });
    const task: Task = {
      definition,
      docs: [{ id: "1", doc: { who: "Mira's friend", place: "Mira's house" } }],
      source: "test",
    };
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const item = buildItem(task, 0, createRng(seed));
      if (item.kind !== "generate") throw new Error("generation expected");
      seen.add(`${item.prompt} -> ${item.target}`);
      const name = item.target.startsWith("Nora") ? "Nora" : "Mira";
      expect(item.prompt).toContain(`${name}'s`);
      expect(item.prompt).not.toContain(name === "Nora" ? "Mira" : "Nora");
    }
    expect(seen.size).toBe(4);
  });
});
