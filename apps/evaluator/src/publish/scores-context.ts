import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";

/** What the evaluator's scoreboard procedures read: its store, its id and its clock. */
export interface ScoresContext {
  readonly store: EvaluatorStoreImpl;
  readonly evaluatorId: string;
  readonly now: () => number;
}
