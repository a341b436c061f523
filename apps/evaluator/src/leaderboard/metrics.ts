import { MetricsRegistry } from "@pocket-ai/runtime";
import { count, max, sql } from "drizzle-orm";
import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import { itemResults, nodeScores, runs } from "../db/schema.js";

/**
 * `GET /metrics` in Prometheus' text format, read from the database at each scrape — what a round
 * left, so `serve` (read-only) and a restarted `start` show the same: runs by status, the recorded
 * results by kind, status and error code (counts only: no prompt, answer or node text), when a run
 * last finished, and the entries on the board. An operator alerts on the last finish growing old
 * (rounds stopped) or on one code growing (a gateway or node trouble).
 */
export function evaluatorMetrics(store: EvaluatorStoreImpl): string {
  const registry = new MetricsRegistry();
  const runsByStatus = registry.gauge("pocket_evaluator_runs", "Runs by status (running, finished, failed).");
  for (const row of store.db
    .select({ status: runs.status, n: count() })
    .from(runs)
    .groupBy(runs.status)
    .all())
    runsByStatus.set({ status: row.status }, row.n);
  const results = registry.counter(
    "pocket_evaluator_results_total",
    "Recorded results by kind (item, identity, speed, image), status (scored, unsupported, error) and error code.",
  );
  for (const row of store.db
    .select({ kind: itemResults.kind, status: itemResults.status, code: itemResults.errorCode, n: count() })
    .from(itemResults)
    .groupBy(itemResults.kind, itemResults.status, itemResults.errorCode)
    .all())
    results.inc({ kind: row.kind, status: row.status, code: row.code ?? "" }, row.n);
  const last = store.db
    .select({ at: max(runs.finishedAt) })
    .from(runs)
    .where(sql`${runs.status} = 'finished'`)
    .get()?.at;
  const lastFinished = registry.gauge(
    "pocket_evaluator_last_run_finished_timestamp_seconds",
    "When a run last finished (Unix seconds; no sample before the first).",
  );
  if (typeof last === "number") lastFinished.set({}, last / 1000);
  const entries = store.db.select({ n: count() }).from(nodeScores).get()?.n ?? 0;
  registry.gauge("pocket_evaluator_board_entries", "Node entries on the published board.").set({}, entries);
  return registry.render();
}
