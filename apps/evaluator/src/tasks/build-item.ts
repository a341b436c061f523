import type { Rng } from "../runs/rng.js";
import { descriptionOf, fewshotCount, perturbDoc, soleField, textTemplate } from "./perturb.js";
import type { Doc, Task, TaskDefinition } from "./task-definition.js";
import { render, renderValue } from "./template.js";

/** What one item asks of a node, after few-shot examples and perturbations were applied. */
export type ItemRequest = (
  | {
      readonly kind: "loglikelihood";
      readonly context: string;
      readonly continuations: readonly string[];
      readonly gold: number;
    }
  | {
      readonly kind: "generate";
      readonly prompt: string;
      readonly until: readonly string[];
      readonly maxTokens: number;
      readonly chat: boolean;
      readonly target: string;
    }
) & {
  /**
   * The item's own content differs from the published dataset this run (fresh numbers, swapped
   * words, a paraphrased text): a node answering from the public answer key cannot know it.
   */
  readonly varied: boolean;
};

export function choicesOf(def: TaskDefinition, doc: Doc): string[] {
  if (def.doc_to_choice === undefined)
    throw new Error(`task ${def.task}: multiple_choice needs doc_to_choice`);
  const value = Array.isArray(def.doc_to_choice) ? def.doc_to_choice : renderValue(def.doc_to_choice, doc);
  if (!Array.isArray(value) || value.length < 2)
    throw new Error(`task ${def.task}: doc_to_choice must give 2+ choices`);
  return value.map(String);
}

/** The gold choice: an index, or a string equal to one of the choices (lm-eval accepts both). */
export function goldOf(def: TaskDefinition, doc: Doc, choices: readonly string[]): number {
  const target = renderValue(def.doc_to_target, doc);
  const index =
    typeof target === "number"
      ? target
      : /^\d+$/.test(String(target))
        ? Number(target)
        : choices.indexOf(String(target));
  if (!(index >= 0 && index < choices.length))
    throw new Error(`task ${def.task}: target is not one of the choices`);
  return index;
}

/** A document rendered as a solved example: its text, the delimiter and its answer. */
function example(def: TaskDefinition, doc: Doc, template: string): string {
  const text = render(template, doc);
  if (def.output_type === "multiple_choice") {
    const choices = choicesOf(def, doc);
    return `${text}${def.target_delimiter}${choices[goldOf(def, doc, choices)]}`;
  }
  return `${text}${def.target_delimiter}${render(def.doc_to_target, doc)}`;
}

/** Shuffles the choices inside a document copy, moving the target with them. */
function shuffled(def: TaskDefinition, doc: Doc, rng: Rng): Doc {
  if (!def.shuffle_choices || typeof def.doc_to_choice !== "string") return doc;
  const field = soleField(def.doc_to_choice);
  const choices = choicesOf(def, doc);
  if (field === undefined) return doc;
  const order = rng.permutation(choices.length);
  const gold = goldOf(def, doc, choices);
  const targetField = soleField(def.doc_to_target);
  const out: Doc = { ...doc, [field]: order.map((i) => choices[i]) };
  if (targetField !== undefined) out[targetField] = order.indexOf(gold);
  return out;
}

/**
 * Builds one item's request as this run presents it (all draws from the run's seeded `rng`): fresh
 * numbers and swapped words where the task allows, a paraphrase of the item text, choices shuffled
 * when the prompt lists them, few-shot examples drawn from the task's other items (themselves
 * perturbed), a description variant, and for multiple choice the continuations in a random order
 * with the gold index following. Byte-identical prompts across runs become rare, so neither a cache
 * of prompts nor the public answer key answers them.
 */
export function buildItem(task: Task, index: number, rng: Rng): ItemRequest {
  const def = task.definition;
  const template = textTemplate(def, rng);
  const original = task.docs[index]!.doc;
  const perturbed = perturbDoc(def, original, rng);
  const varied = template !== def.doc_to_text || JSON.stringify(perturbed) !== JSON.stringify(original);
  const doc = shuffled(def, perturbed, rng);
  const others = task.docs.filter((_, i) => i !== index);
  const shots = rng
    .sample(others, Math.min(fewshotCount(def, rng), others.length))
    .map((d) => example(def, perturbDoc(def, d.doc, rng), template));
  const description = descriptionOf(def, rng);
  const prefix = description === "" ? "" : `${description}${def.fewshot_delimiter}`;
  const context = prefix + [...shots, render(template, doc)].join(def.fewshot_delimiter);
  if (def.output_type === "multiple_choice") {
    const choices = choicesOf(def, doc);
    const gold = goldOf(def, doc, choices);
    const order = rng.permutation(choices.length);
    return {
      kind: "loglikelihood",
      context,
      continuations: order.map((i) => `${def.target_delimiter}${choices[i]}`),
      gold: order.indexOf(gold),
      varied,
    };
  }
  return {
    kind: "generate",
    prompt: context,
    until: def.generation_kwargs.until,
    maxTokens: def.generation_kwargs.max_gen_toks,
    chat: def.chat,
    target: render(def.doc_to_target, doc),
    varied,
  };
}
