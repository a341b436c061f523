import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The evaluator's storage: runs, per-item results and published scores. Only hashes and numbers
 * are kept — never the text of a prompt or a completion.
 */

/** One evaluation of one node. The seed rebuilds the exact plan, so a run resumes after a restart. */
export const runs = sqliteTable(
  "runs",
  {
    id: text("id").primaryKey(),
    nodeAddress: text("node_address").notNull(),
    serviceId: text("service_id").notNull(),
    seed: integer("seed").notNull(),
    /** SHA-256 of the suite's task names and item ids, so a changed suite never resumes an old plan. */
    suiteHash: text("suite_hash").notNull(),
    status: text("status", { enum: ["running", "finished", "failed"] }).notNull(),
    plannedItems: integer("planned_items").notNull(),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("runs_node_idx").on(t.nodeAddress, t.startedAt)],
);

/** One probe's outcome: a scored item, an identity sample or a speed probe. */
export const itemResults = sqliteTable(
  "item_results",
  {
    runId: text("run_id")
      .notNull()
      .references(() => runs.id),
    /** `task/itemId`, `identity/n`, `speed/n`, `image/n` or `image-seed/n`. */
    itemKey: text("item_key").notNull(),
    kind: text("kind", { enum: ["item", "identity", "speed", "image"] }).notNull(),
    category: text("category"),
    status: text("status", { enum: ["scored", "unsupported", "error"] }).notNull(),
    score: real("score"),
    /**
     * Identity samples: mean per-token logprob under the reference model; speed: tokens per second;
     * image probes: the largest per-channel standard deviation of the picture.
     */
    stat: real("stat"),
    ttftMs: real("ttft_ms"),
    promptHash: text("prompt_hash").notNull(),
    responseHash: text("response_hash"),
    errorCode: text("error_code"),
    /** Image probes: the dHash of the picture (a perceptual hash, not the picture). */
    perceptualHash: text("perceptual_hash"),
    /** Image probes: which of the per-image checks passed, e.g. `{"png":true,"size":false,…}`. */
    checks: text("checks", { mode: "json" }).$type<Record<string, boolean>>(),
    probes: integer("probes").notNull().default(1),
    /**
     * Scored items: whether this run changed the item's own content (fresh numbers, swapped words,
     * a paraphrase), so the public answer key does not answer it; null for other probes.
     */
    varied: integer("varied", { mode: "boolean" }),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.itemKey] })],
);

/**
 * The published scoreboard entry of each (node, service), replaced when a run of that node on that
 * service finishes: a node measured on a text and an image service keeps both entries.
 */
export const nodeScores = sqliteTable(
  "node_scores",
  {
    nodeAddress: text("node_address").notNull(),
    serviceId: text("service_id").notNull(),
    runId: text("run_id").notNull(),
    /** The `NodeScore` JSON of `@pocket-ai/protocol`: checked strictly before it is written, read as `NodeScoreForReaders`. */
    entry: text("entry", { mode: "json" }).notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.nodeAddress, t.serviceId] }),
    uniqueIndex("node_scores_run_idx").on(t.runId),
  ],
);

/** Per-category figures, for queries and history (the board reads `node_scores`). */
export const categoryScores = sqliteTable(
  "category_scores",
  {
    runId: text("run_id")
      .notNull()
      .references(() => runs.id),
    category: text("category").notNull(),
    mean: real("mean").notNull(),
    lower: real("lower").notNull(),
    upper: real("upper").notNull(),
    n: integer("n").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.category] })],
);

export const evaluatorSchema = { runs, itemResults, nodeScores, categoryScores };
