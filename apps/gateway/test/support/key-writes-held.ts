import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { until } from "./until.js";

/**
 * PostgreSQL only: calls `start` while a transaction on `db` holds every write to `api_keys` (reads
 * go on), and lets the writes go once `waiters` statements of this database wait on a lock. Key
 * changes started by `start` therefore all reach their write — or a lock they take before checking
 * — before any of them writes: the interleaving where a check that runs apart from its write lets
 * every change through. The state of the server decides when they go, not a clock.
 */
export async function withKeyWritesHeld<A>(
  db: SqlClient,
  waiters: number,
  start: () => Promise<A>,
): Promise<A> {
  let started: Promise<A> | undefined;
  await db.transaction(async (tx) => {
    await tx.run(sql`lock table api_keys in exclusive mode`);
    started = start();
    // Awaited by the caller; a failure before then is not an unhandled one.
    started.catch(() => undefined);
    await until(async () => {
      const row = await db.get<{ n: number }>(sql`
        select cast(count(*) as int) as "n" from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`);
      return (row?.n ?? 0) >= waiters;
    }, `${waiters} statements waiting on a lock`);
  });
  return started!;
}
