import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";

/** What the evaluator's scoreboard procedures read: its store, its id, its clock and whom it measures. */
export interface ScoresContext {
  readonly store: EvaluatorStoreImpl;
  readonly evaluatorId: string;
  readonly now: () => number;
  /** The nodes the evaluator measures (`measuredNodes`): the board leaves out any other's entry. */
  readonly measured?: ReadonlySet<string>;
}
