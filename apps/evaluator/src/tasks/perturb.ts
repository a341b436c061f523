import type { Rng } from "../runs/rng.js";
import type { Doc, Perturbation, TaskDefinition } from "./task-definition.js";

const ONES = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
];
const TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/** 0..99 in English words, hyphenated like "forty-two". */
export function numberWords(n: number): string {
  if (!(Number.isInteger(n) && n >= 0 && n <= 99)) throw new RangeError(`no words for ${n}`);
  if (n < 20) return ONES[n]!;
  const tens = TENS[Math.floor(n / 10)]!;
  return n % 10 === 0 ? tens : `${tens}-${ONES[n % 10]}`;
}

/** The `{{ field }}` a template is made of, when it is exactly one placeholder. */
export const soleField = (template: string | readonly string[] | undefined): string | undefined =>
  typeof template === "string" ? template.match(/^\{\{\s*(\w+)\s*\}\}$/)?.[1] : undefined;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  return value;
}

/** Replaces whole words consistently across every string (and list of strings) of the document. */
function swapWords(doc: Doc, words: Perturbation["words"], rng: Rng): Doc {
  const swaps = Object.entries(words).flatMap(([word, alternatives]) => {
    const chosen = rng.pick([word, ...alternatives]);
    return chosen === word ? [] : [{ pattern: new RegExp(`\\b${escapeRegExp(word)}\\b`, "g"), chosen }];
  });
  if (swaps.length === 0) return doc;
  const swap = (s: string) => swaps.reduce((out, { pattern, chosen }) => out.replace(pattern, chosen), s);
  return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, k === "id" ? v : mapStrings(v, swap)]));
}

const capitalised = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Fresh operands and result (and, for multiple choice, fresh choices around the result with the
 * gold index following), written like the dataset's own numbers: digits, or words with the first
 * operand capitalised when the dataset's is.
 */
function freshNumbers(
  def: TaskDefinition,
  doc: Doc,
  spec: NonNullable<Perturbation["arithmetic"]>,
  rng: Rng,
): Doc {
  if (rng.next() >= spec.share) return doc;
  const [left, right] = spec.operands;
  const span = spec.max - spec.min + 1;
  const draw = () => spec.min + rng.int(span);
  for (let attempt = 0; attempt < 64; attempt++) {
    let a = draw();
    let b = draw();
    if (spec.op === "-" && a < b) [a, b] = [b, a];
    const result = spec.op === "+" ? a + b : spec.op === "-" ? a - b : a * b;
    if (spec.format === "words" && result > 99) continue;
    const wordy = spec.format === "words";
    const write = (n: number, like: unknown) => {
      if (!wordy) return String(n);
      const w = numberWords(n);
      return typeof like === "string" && /^[A-Z]/.test(like) ? capitalised(w) : w;
    };
    const out: Doc = { ...doc, [left]: write(a, doc[left]), [right]: write(b, doc[right]) };
    const choiceField = soleField(def.doc_to_choice);
    const targetField = soleField(def.doc_to_target);
    if (def.output_type === "multiple_choice" && choiceField !== undefined && targetField !== undefined) {
      const original = doc[choiceField];
      const count = Array.isArray(original) ? original.length : 4;
      const candidates = [1, -1, 2, -2, 3, -3, 4, -4, 5, -5]
        .map((d) => result + d)
        .filter((n) => n >= 0 && (!wordy || n <= 99));
      const distractors = rng.sample(candidates, count - 1);
      if (distractors.length < count - 1) continue;
      const order = rng.permutation(count);
      const values = [result, ...distractors];
      const like = Array.isArray(original) ? original[0] : undefined;
      out[choiceField] = order.map((i) => write(values[i]!, like));
      out[targetField] = order.indexOf(0);
      out[spec.result] = write(result, doc[spec.result]);
    } else {
      out[spec.result] = write(result, doc[spec.result]);
    }
    return out;
  }
  return doc;
}

/** The document as this run presents it: fresh numbers where the task allows, then word swaps. */
export function perturbDoc(def: TaskDefinition, doc: Doc, rng: Rng): Doc {
  const numbered =
    def.perturb.arithmetic === undefined ? doc : freshNumbers(def, doc, def.perturb.arithmetic, rng);
  return swapWords(numbered, def.perturb.words, rng);
}

/** The item's text template for this run: `doc_to_text` or one of its paraphrases. */
export const textTemplate = (def: TaskDefinition, rng: Rng): string =>
  def.perturb.doc_to_text.length === 0
    ? def.doc_to_text
    : rng.pick([def.doc_to_text, ...def.perturb.doc_to_text]);

/** The description for this run: the task's, or one of the alternatives. */
export const descriptionOf = (def: TaskDefinition, rng: Rng): string =>
  def.perturb.descriptions.length === 0 ? def.description : rng.pick(def.perturb.descriptions);

/** Few-shot examples for this run: `num_fewshot`, or a count drawn up to `fewshot_max`. */
export function fewshotCount(def: TaskDefinition, rng: Rng): number {
  const max = def.perturb.fewshot_max;
  if (max === undefined || max <= def.num_fewshot) return def.num_fewshot;
  return def.num_fewshot + rng.int(max - def.num_fewshot + 1);
}
