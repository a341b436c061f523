import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { createRng } from "../runs/rng.js";
import { buildItem } from "./build-item.js";
import { loadHarnessDataset } from "./harness-shapes.js";
import { loadSuite, loadTask } from "./load-task.js";
import { render } from "./template.js";

describe("the starter suite", () => {
  const tasks = Effect.runSync(loadSuite([]));

  it("has at least 200 items across the five categories", () => {
    const perCategory = new Map<string, number>();
    for (const t of tasks)
      perCategory.set(t.definition.category, (perCategory.get(t.definition.category) ?? 0) + t.docs.length);
    expect([...perCategory.keys()].sort()).toEqual([
      "coding",
      "creative",
      "instruction",
      "knowledge",
      "reasoning",
    ]);
    expect([...perCategory.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(200);
  });

  it("builds every item, deterministically for a seed", () => {
    for (const task of tasks) {
      task.docs.forEach((_, i) => {
        expect(buildItem(task, i, createRng(7))).toEqual(buildItem(task, i, createRng(7)));
      });
    }
  });

  it("varies few-shot examples and choice order between seeds", () => {
    const qa = tasks.find((t) => t.definition.task === "capitals_qa")!;
    const prompts = new Set([1, 2, 3, 4, 5].map((s) => JSON.stringify(buildItem(qa, 0, createRng(s)))));
    expect(prompts.size).toBeGreaterThan(1);
  });
});

describe("task files", () => {
  const dir = mkdtempSync(join(tmpdir(), "evaluator-tasks-"));

  it("loads a private item pool from a folder, not public unless it says so", () => {
    const pool = mkdtempSync(join(tmpdir(), "evaluator-pool-"));
    writeFileSync(
      join(pool, "private_qa.yaml"),
      'task: private_qa\ncategory: knowledge\noutput_type: generate_until\ndataset_path: private_qa.jsonl\ndoc_to_text: "Q: {{q}}\\nA:"\ndoc_to_target: "{{a}}"\nmetric_list: [{ metric: exact_match }]\n',
    );
    writeFileSync(join(pool, "private_qa.jsonl"), `${JSON.stringify({ id: "1", q: "x?", a: "y" })}\n`);
    const loaded = Effect.runSync(loadSuite([pool]));
    expect(loaded.map((t) => t.definition.task)).toEqual(["private_qa"]);
    expect(loaded[0]!.definition.public).toBe(false);
    expect(Effect.runSync(loadSuite([])).every((t) => t.definition.public)).toBe(true);
  });

  it("reports a malformed definition by field", () => {
    writeFileSync(join(dir, "bad.yaml"), "task: Bad Name\ncategory: knowledge\n");
    const error = Effect.runSync(Effect.flip(loadTask(join(dir, "bad.yaml"))));
    expect(error._tag).toBe("TaskFormatError");
    expect(error.problems.join("\n")).toMatch(/task|output_type/);
  });

  it("renders templates and refuses missing fields", () => {
    expect(render("{{ a.b[1] }} and {{c}}", { a: { b: ["x", "y"] }, c: 3 })).toBe("y and 3");
    expect(() => render("{{ missing }}", {})).toThrow(/missing/);
  });

  it("loads user-fetched datasets in lm-evaluation-harness shapes", () => {
    const arc = join(dir, "arc.jsonl");
    writeFileSync(
      arc,
      `${JSON.stringify({ id: "q1", question: "Which is a liquid at room temperature?", choices: { text: ["iron", "water", "salt"], label: ["A", "B", "C"] }, answerKey: "B" })}\n`,
    );
    const arcTask = Effect.runSync(
      loadHarnessDataset({ shape: "arc", file: arc, task: "my_arc", category: "knowledge" }),
    );
    const arcItem = buildItem(arcTask, 0, createRng(1));
    if (arcItem.kind !== "loglikelihood") throw new Error("expected a multiple-choice item");
    // The continuations go out in a random order per run; the gold index follows its choice.
    expect([...arcItem.continuations].sort()).toEqual([" iron", " salt", " water"]);
    expect(arcItem.continuations[arcItem.gold]).toBe(" water");

    const gsm = join(dir, "gsm.json");
    writeFileSync(
      gsm,
      JSON.stringify([
        { question: "Ann has 3 pens and buys 4 more. How many?", answer: "3 + 4 = 7\n#### 7" },
        { question: "2 times 6?", answer: "#### 12" },
      ]),
    );
    const gsmTask = Effect.runSync(
      loadHarnessDataset({ shape: "gsm8k", file: gsm, task: "my_gsm", category: "reasoning" }),
    );
    expect(buildItem(gsmTask, 0, createRng(1))).toMatchObject({ kind: "generate", target: "7" });

    const hs = join(dir, "hs.jsonl");
    writeFileSync(
      hs,
      `${JSON.stringify({ ctx: "She opened the umbrella because", endings: ["it rained", "it was Tuesday"], label: "0" })}\n`,
    );
    expect(
      Effect.runSync(
        loadHarnessDataset({ shape: "hellaswag", file: hs, task: "my_hs", category: "creative" }),
      ).docs,
    ).toHaveLength(1);

    const mmlu = join(dir, "mmlu.jsonl");
    writeFileSync(mmlu, `${JSON.stringify({ question: "2 + 2 =", choices: ["3", "4"], answer: 1 })}\n`);
    expect(
      Effect.runSync(
        loadHarnessDataset({ shape: "mmlu", file: mmlu, task: "my_mmlu", category: "reasoning" }),
      ).definition.output_type,
    ).toBe("multiple_choice");
  });
});
