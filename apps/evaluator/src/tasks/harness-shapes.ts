import { readFileSync } from "node:fs";
import { Effect } from "effect";
import { TaskFormatError } from "../errors.js";
import { docId, parseDataset } from "./load-task.js";
import { type Category, type Doc, type Task, TaskDefinition } from "./task-definition.js";

/**
 * Loads datasets that users fetch themselves in the shapes lm-evaluation-harness's best-known
 * tasks use (as JSONL or a JSON array of rows), and turns each into a task with the usual prompt:
 * - `mmlu`: `{question, choices: string[], answer: number}` — multiple choice, acc.
 * - `arc`: `{question, choices: {text: string[], label: string[]}, answerKey}` — multiple choice, acc_norm.
 * - `hellaswag`: `{ctx, endings: string[], label}` — multiple choice, acc_norm.
 * - `gsm8k`: `{question, answer: "… #### 42"}` — generate_until; the target is the number after
 *   `####`, the answer is the last number in the completion.
 * Rows are normalised into the fields the definition's templates name; nothing is downloaded.
 */
export type HarnessShape = "mmlu" | "arc" | "hellaswag" | "gsm8k";

const SHAPES: Record<
  HarnessShape,
  { normalise: (row: Doc) => Doc; definition: (name: string, category: Category) => unknown }
> = {
  mmlu: {
    normalise: (r) => ({ question: r.question, choices: r.choices, answer: Number(r.answer) }),
    definition: (task, category) => ({
      task,
      category,
      output_type: "multiple_choice",
      dataset_path: "-",
      doc_to_text: "Question: {{question}}\nAnswer:",
      doc_to_choice: "{{choices}}",
      doc_to_target: "{{answer}}",
      metric_list: [{ metric: "acc" }, { metric: "acc_norm" }],
    }),
  },
  arc: {
    normalise: (r) => {
      const choices = r.choices as { text: string[]; label: string[] };
      return {
        question: r.question,
        choices: choices.text,
        answer: choices.label.indexOf(String(r.answerKey)),
      };
    },
    definition: (task, category) => ({
      task,
      category,
      output_type: "multiple_choice",
      dataset_path: "-",
      doc_to_text: "Question: {{question}}\nAnswer:",
      doc_to_choice: "{{choices}}",
      doc_to_target: "{{answer}}",
      metric_list: [{ metric: "acc_norm" }, { metric: "acc" }],
    }),
  },
  hellaswag: {
    normalise: (r) => ({ ctx: r.ctx, endings: r.endings, label: Number(r.label) }),
    definition: (task, category) => ({
      task,
      category,
      output_type: "multiple_choice",
      dataset_path: "-",
      doc_to_text: "{{ctx}}",
      doc_to_choice: "{{endings}}",
      doc_to_target: "{{label}}",
      metric_list: [{ metric: "acc_norm" }, { metric: "acc" }],
    }),
  },
  gsm8k: {
    normalise: (r) => ({
      question: r.question,
      answer: String(r.answer),
      target: String(r.answer).split("####").pop()?.trim().replace(/,/g, "") ?? "",
    }),
    definition: (task, category) => ({
      task,
      category,
      output_type: "generate_until",
      dataset_path: "-",
      num_fewshot: 5,
      doc_to_text: "Question: {{question}}\nAnswer:",
      doc_to_target: "{{target}}",
      generation_kwargs: { until: ["Question:", "\n\n"], max_gen_toks: 256 },
      filter_list: [
        {
          name: "strict",
          filter: [
            { function: "regex", regex_pattern: "-?[0-9][0-9,]*(?:\\.[0-9]+)?", group_select: -1 },
            { function: "strip" },
            { function: "take_first" },
          ],
        },
      ],
      metric_list: [{ metric: "exact_match", ignore_punctuation: true }],
    }),
  },
};

/** A task from a user-fetched dataset file in one of the harness's usual shapes. */
export function loadHarnessDataset(options: {
  readonly shape: HarnessShape;
  readonly file: string;
  readonly task: string;
  readonly category: Category;
}): Effect.Effect<Task, TaskFormatError> {
  return Effect.try({
    try: () => {
      const shape = SHAPES[options.shape];
      const definition = TaskDefinition.parse(shape.definition(options.task, options.category));
      const rows = parseDataset(readFileSync(options.file, "utf8"), options.file);
      const docs = rows.map((row, i) => {
        const doc = shape.normalise(row);
        return { id: docId(row, i), doc };
      });
      if (docs.length === 0) throw new Error("the dataset is empty");
      return { definition, docs, source: options.file };
    },
    catch: (e) =>
      e instanceof TaskFormatError
        ? e
        : new TaskFormatError({ source: options.file, problems: [(e as Error).message] }),
  });
}
