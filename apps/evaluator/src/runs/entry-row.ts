import type { ItemResultRow } from "../db/evaluator-store.js";

/** What one plan step stores (the run, key and time are added by the runner). */
export type Row = Omit<ItemResultRow, "runId" | "itemKey" | "createdAt">;

/** The fields a step leaves empty unless it has something to put there. */
export const base = {
  category: null,
  score: null,
  stat: null,
  ttftMs: null,
  responseHash: null,
  errorCode: null,
  perceptualHash: null,
  checks: null,
  probes: 1,
  varied: null,
} as const;
