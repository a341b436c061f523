import type { ItemResultRow } from "../src/db/evaluator-store.js";
import { base } from "../src/runs/entry-row.js";

/** A scored item's stored row (run `r`, a `knowledge` item scoring 1), with `patch` over it. */
export const scoredItem = (
  itemKey: string,
  createdAt: number,
  patch: Partial<ItemResultRow> = {},
): ItemResultRow => ({
  ...base,
  runId: "r",
  itemKey,
  kind: "item",
  category: "knowledge",
  status: "scored",
  score: 1,
  promptHash: "p",
  createdAt,
  ...patch,
});
