import { z } from "zod";

/**
 * A task definition in the spirit of lm-evaluation-harness's YAML: the same field names where the
 * meaning is the same (`output_type`, `doc_to_text`, `doc_to_target`, `doc_to_choice`,
 * `target_delimiter`, `fewshot_delimiter`, `num_fewshot`, `generation_kwargs.until`,
 * `filter_list`, `metric_list`), plus the category the task's items are scored in. Templates use
 * `{{ field }}` substitution (dotted paths and `[i]` indexes), not full Jinja.
 */
export const Category = z.enum(["knowledge", "reasoning", "coding", "instruction", "creative"]);
export type Category = z.infer<typeof Category>;

const FilterStep = z.discriminatedUnion("function", [
  z.strictObject({
    function: z.literal("regex"),
    regex_pattern: z.string().min(1),
    /** Which match to keep when the pattern matches several times (lm-eval's `group_select`). */
    group_select: z.int().default(0),
    fallback: z.string().default("[invalid]"),
  }),
  z.strictObject({ function: z.literal("take_first") }),
  z.strictObject({ function: z.literal("strip") }),
  z.strictObject({ function: z.literal("lowercase") }),
]);
export type FilterStep = z.infer<typeof FilterStep>;

const Metric = z.discriminatedUnion("metric", [
  z.strictObject({ metric: z.literal("acc") }),
  z.strictObject({ metric: z.literal("acc_norm") }),
  z.strictObject({
    metric: z.literal("exact_match"),
    ignore_case: z.boolean().default(false),
    ignore_punctuation: z.boolean().default(false),
  }),
  /** The filtered answer contains the target (case-insensitive). */
  z.strictObject({ metric: z.literal("contains") }),
  /** The target is a regular expression the whole output must match (instruction constraints). */
  z.strictObject({ metric: z.literal("regex_match"), flags: z.string().default("") }),
  /** Prompt + completion + the doc's `program_suffix` run in a sandbox; the doc's `tests` must hold. */
  z.strictObject({ metric: z.literal("js_unit_tests") }),
]);
export type Metric = z.infer<typeof Metric>;

const NUMBER_WORDS_MAX = 99;

/**
 * Pocket's own extension (not an lm-evaluation-harness field): how every run varies an item, seeded
 * per run, so that byte-identical prompts across runs are rare and a node cannot answer from a
 * cache of prompts or from the public answer key.
 */
export const Perturbation = z.strictObject({
  /** Few-shot examples per run are drawn in [num_fewshot, fewshot_max] from the task's other items. */
  fewshot_max: z.int().min(0).max(16).optional(),
  /** Alternative descriptions (instruction lines), one drawn per item and run; "" for none. */
  descriptions: z.array(z.string()).default([]),
  /** Paraphrases of `doc_to_text`; the original or one of these is drawn per item and run. */
  doc_to_text: z.array(z.string()).default([]),
  /**
   * Whole words replaced consistently in the item's fields (text, choices and target), e.g. names:
   * `{ Mira: [Nora, Lena] }`. The original stays possible.
   */
  words: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
  /**
   * Numeric variants: each run replaces the two operand fields with fresh numbers in [min, max],
   * recomputes the result field (and, for multiple choice, the choices around it), written in
   * digits or in words ("Twelve", "three").
   */
  arithmetic: z
    .strictObject({
      op: z.enum(["+", "-", "*"]),
      operands: z.tuple([z.string().min(1), z.string().min(1)]),
      result: z.string().min(1),
      min: z.int().min(0).max(NUMBER_WORDS_MAX),
      max: z.int().min(0).max(NUMBER_WORDS_MAX),
      format: z.enum(["digits", "words"]).default("digits"),
      /** Share of items given fresh numbers in each run (the rest keep the dataset's). */
      share: z.number().min(0).max(1).default(1),
    })
    .optional(),
});
export type Perturbation = z.infer<typeof Perturbation>;

export const TaskDefinition = z.strictObject({
  task: z.string().regex(/^[a-z0-9_.-]+$/, "lowercase letters, digits, _ . -"),
  category: Category,
  description: z.string().default(""),
  output_type: z.enum(["multiple_choice", "generate_until"]),
  /** JSONL (or JSON array) file, relative to the task file. */
  dataset_path: z.string().min(1),
  doc_to_text: z.string(),
  doc_to_target: z.string(),
  /** A `{{ field }}` naming a list, or the list itself. */
  doc_to_choice: z.union([z.string(), z.array(z.string())]).optional(),
  target_delimiter: z.string().default(" "),
  fewshot_delimiter: z.string().default("\n\n"),
  num_fewshot: z.int().min(0).max(16).default(0),
  /** Send `generate_until` items as chat messages (the prompt as one user turn) instead of completions. */
  chat: z.boolean().default(false),
  /** Shuffle a multiple-choice item's choices on every run (only meaningful when the prompt lists them). */
  shuffle_choices: z.boolean().default(false),
  generation_kwargs: z
    .strictObject({
      until: z.array(z.string()).max(4).default(["\n\n"]),
      max_gen_toks: z.int().min(1).max(1000).default(32),
    })
    .prefault({}),
  filter_list: z
    .array(z.strictObject({ name: z.string().min(1), filter: z.array(FilterStep).min(1) }))
    .default([]),
  metric_list: z.array(Metric).min(1),
  license: z.string().default("MIT"),
  /**
   * The items are published (the starter suite, harness datasets): a node may know their answer
   * key, so scores on them rest on perturbation alone. Private pools leave this `false`.
   */
  public: z.boolean().default(false),
  perturb: Perturbation.prefault({}),
});
export type TaskDefinition = z.infer<typeof TaskDefinition>;

/** One dataset row, as read from JSONL. */
export type Doc = Record<string, unknown>;

/** A loaded task: its definition and its documents, each with a stable id. */
export interface Task {
  readonly definition: TaskDefinition;
  readonly docs: readonly { readonly id: string; readonly doc: Doc }[];
  readonly source: string;
}
