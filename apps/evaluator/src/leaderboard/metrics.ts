import { MetricsRegistry } from "@pocket-ai/runtime";
import { count, gte, inArray, max, sql } from "drizzle-orm";
import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import { itemResults, nodeScores, runs } from "../db/schema.js";

/**
 * `GET /metrics` in Prometheus' text format, read from the database at each scrape — what a round
 * left, so `serve` (read-only) and a restarted `start` show the same: runs by status, the results
 * of the last week's runs by kind, status and error code (counts only: no prompt, answer or node
 * text), when a run
 * last finished, and the entries on the board. An operator alerts on the last finish growing old
 * (rounds stopped) or on one code growing (a gateway or node trouble).
 */
/** How far back `pocket_evaluator_recent_results` reads. */
const RECENT_MS = 7 * 24 * 60 * 60 * 1000;

export function evaluatorMetrics(store: EvaluatorStoreImpl, now: number): string {
  const registry = new MetricsRegistry();
  const runsByStatus = registry.gauge("pocket_evaluator_runs", "Runs by status (running, finished, failed).");
  for (const row of store.db
    .select({ status: runs.status, n: count() })
    .from(runs)
    .groupBy(runs.status)
    .all())
    runsByStatus.set({ status: row.status }, row.n);
  const results = registry.gauge(
    "pocket_evaluator_recent_results",
    "Results recorded by the runs started in the last 7 days, by kind (item, identity, speed, image), status (scored, unsupported, error) and error code.",
  );
  // Only recent runs' rows, read through the results' primary key (run first): a scrape costs the
  // same in a year as in a week, and never holds the process that times probes for long.
  const since = now - RECENT_MS;
  for (const row of store.db
    .select({ kind: itemResults.kind, status: itemResults.status, code: itemResults.errorCode, n: count() })
    .from(itemResults)
    .where(
      inArray(
        itemResults.runId,
        store.db.select({ id: runs.id }).from(runs).where(gte(runs.startedAt, since)),
      ),
    )
    .groupBy(itemResults.kind, itemResults.status, itemResults.errorCode)
    .all())
    results.set({ kind: row.kind, status: row.status, code: row.code ?? "" }, row.n);
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
