import type { ItemResultRow } from "../db/evaluator-store.js";
import { choicesOf } from "../tasks/build-item.js";
import type { Task } from "../tasks/task-definition.js";
import { type ItemCredit, taskOf, type WeightedRun } from "./evidence.js";
import { wilsonInterval } from "./wilson.js";

/** Items needed on each side (verbatim and varied) before the comparison is made. */
export const ANSWER_KEY_MIN_ITEMS = 16;
/** Varied items may recover at most this share of the verbatim items' gain over chance. */
export const ANSWER_KEY_MAX_RECOVERY = 1 / 3;

export interface AnswerKeyFinding {
  readonly flagged: boolean;
  readonly verbatim: { readonly mean: number; readonly n: number };
  readonly varied: { readonly mean: number; readonly n: number };
  readonly chance: number;
}

/**
 * The share of a multiple-choice task's items a guess gets right: the mean of 1 / choices over its
 * documents (documents whose choices do not resolve are left out; 0 when none do).
 */
export function guessChance(task: Task): number {
  const shares = task.docs.flatMap((d) => {
    try {
      return [1 / choicesOf(task.definition, d.doc).length];
    } catch {
      return [];
    }
  });
  return shares.length === 0 ? 0 : shares.reduce((a, b) => a + b, 0) / shares.length;
}

/**
 * Does the node answer from the public answer key rather than from the content? On the tasks whose
 * items are sometimes asked as published and sometimes with fresh content (numbers, words, a
 * paraphrase) in the same runs, an honest model does about as well on both, because the variants
 * are equally easy; a node that looks answers up scores high on the published items and at chance
 * on the varied ones. Flagged when the verbatim share's 95% lower bound is above the varied share's
 * upper bound and the varied items recover under a third of the verbatim items' gain over chance.
 * `guessChance` is the share a guess gets right on each multiple-choice task (1 / its choices),
 * however the items were asked (a letter question is one relay, whatever the choices).
 */
export function answerKeyFinding(
  runs: readonly WeightedRun[],
  credit: ItemCredit,
  guessChance: ReadonlyMap<string, number>,
): AnswerKeyFinding {
  const mixed = new Map<string, { verbatim: boolean; varied: boolean }>();
  for (const run of runs)
    for (const row of run.rows) {
      if (row.kind !== "item" || row.varied === null) continue;
      const t = mixed.get(taskOf(row)) ?? { verbatim: false, varied: false };
      if (row.varied) t.varied = true;
      else t.verbatim = true;
      mixed.set(taskOf(row), t);
    }
  const side = { verbatim: { s: 0, n: 0 }, varied: { s: 0, n: 0, chance: 0 } };
  for (const run of runs)
    for (const row of run.rows as ItemResultRow[]) {
      const t = row.kind === "item" ? mixed.get(taskOf(row)) : undefined;
      if (t === undefined || !t.verbatim || !t.varied || row.varied === null) continue;
      const value = credit(row);
      if (value === null) continue;
      const chance = guessChance.get(taskOf(row)) ?? 0;
      if (row.varied) {
        side.varied.s += run.weight * value;
        side.varied.n += run.weight;
        side.varied.chance += run.weight * chance;
      } else {
        side.verbatim.s += run.weight * value;
        side.verbatim.n += run.weight;
      }
    }
  const verbatim = wilsonInterval(side.verbatim.s, side.verbatim.n);
  const varied = wilsonInterval(side.varied.s, side.varied.n);
  const chance = side.varied.n === 0 ? 0 : side.varied.chance / side.varied.n;
  const flagged =
    side.verbatim.n >= ANSWER_KEY_MIN_ITEMS &&
    side.varied.n >= ANSWER_KEY_MIN_ITEMS &&
    verbatim.lower > varied.upper &&
    varied.mean - chance < ANSWER_KEY_MAX_RECOVERY * (verbatim.mean - chance);
  return {
    flagged,
    verbatim: { mean: verbatim.mean, n: side.verbatim.n },
    varied: { mean: varied.mean, n: side.varied.n },
    chance,
  };
}
