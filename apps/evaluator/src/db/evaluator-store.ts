import { NodeScore, NodeScoreForReaders, type ScoreEstimate } from "@pocket-ai/protocol";
import { openSqlite, packageFile } from "@pocket-ai/runtime";
import { and, desc, eq, isNotNull } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { Context, Effect, Layer } from "effect";
import { categoryScores, evaluatorSchema, itemResults, nodeScores, runs } from "./schema.js";

export type EvaluatorDb = BetterSQLite3Database<typeof evaluatorSchema>;
export type RunRow = typeof runs.$inferSelect;
export type ItemResultRow = typeof itemResults.$inferSelect;

const MIGRATIONS = packageFile(import.meta.url, "@pocket-ai/evaluator", "drizzle");

/**
 * Synchronous SQLite access (better-sqlite3): every write is one statement or one synchronous
 * transaction, committed before the caller goes on, so a result recorded survives `kill -9`.
 */
export class EvaluatorStoreImpl {
  #boardWrites = 0;

  constructor(readonly db: EvaluatorDb) {}

  /** How many writes to the published entries this store made: a board built before is stale once it moves. */
  get boardWrites(): number {
    return this.#boardWrites;
  }

  /**
   * The unfinished run of a node on a service for this suite, if a previous process stopped
   * mid-way. Per service: a node serving two text services (one suite) has a run for each, and
   * one service's results must never be resumed into the other's.
   */
  openRun(nodeAddress: string, serviceId: string, suiteHash: string): RunRow | undefined {
    return this.db
      .select()
      .from(runs)
      .where(
        and(
          eq(runs.nodeAddress, nodeAddress),
          eq(runs.serviceId, serviceId),
          eq(runs.suiteHash, suiteHash),
          eq(runs.status, "running"),
        ),
      )
      .orderBy(desc(runs.startedAt))
      .get();
  }

  startRun(row: Omit<RunRow, "finishedAt" | "status">): void {
    this.db
      .insert(runs)
      .values({ ...row, status: "running" })
      .run();
  }

  finishRun(runId: string, status: "finished" | "failed", now: number): void {
    this.db.update(runs).set({ status, finishedAt: now }).where(eq(runs.id, runId)).run();
  }

  recordResult(row: ItemResultRow): void {
    this.db.insert(itemResults).values(row).onConflictDoNothing().run();
  }

  results(runId: string): ItemResultRow[] {
    return this.db.select().from(itemResults).where(eq(itemResults.runId, runId)).all();
  }

  /**
   * The node's finished runs on a service, newest first (at most `limit`): the evidence pooled
   * across rounds.
   */
  finishedRuns(nodeAddress: string, serviceId: string, suiteHash: string, limit: number): RunRow[] {
    return this.db
      .select()
      .from(runs)
      .where(
        and(
          eq(runs.nodeAddress, nodeAddress),
          eq(runs.serviceId, serviceId),
          eq(runs.suiteHash, suiteHash),
          eq(runs.status, "finished"),
        ),
      )
      .orderBy(desc(runs.startedAt))
      .limit(limit)
      .all();
  }

  /** The published entry of a node on a service, if any. */
  entry(nodeAddress: string, serviceId: string): NodeScore | undefined {
    const row = this.db
      .select()
      .from(nodeScores)
      .where(and(eq(nodeScores.nodeAddress, nodeAddress), eq(nodeScores.serviceId, serviceId)))
      .get();
    const parsed = row === undefined ? undefined : NodeScoreForReaders.safeParse(row.entry);
    return parsed?.success === true ? parsed.data : undefined;
  }

  /**
   * Publishes a node's entry on its service and its category figures together (one transaction);
   * the node's entries on other services stay.
   */
  publish(runId: string, entry: NodeScore, now: number): void {
    const checked = NodeScore.parse(entry);
    this.db.transaction((tx) => {
      tx.delete(nodeScores)
        .where(and(eq(nodeScores.nodeAddress, checked.address), eq(nodeScores.serviceId, checked.serviceId)))
        .run();
      tx.insert(nodeScores)
        .values({
          nodeAddress: checked.address,
          serviceId: checked.serviceId,
          runId,
          entry: checked,
          updatedAt: now,
        })
        .run();
      for (const [category, e] of Object.entries(checked.categories) as [string, ScoreEstimate][]) {
        tx.insert(categoryScores)
          .values({ runId, category, ...e })
          .onConflictDoNothing()
          .run();
      }
    });
    this.#boardWrites++;
  }

  /** Published entries with the run each came from. */
  published(): { runId: string; entry: NodeScore }[] {
    return this.db
      .select()
      .from(nodeScores)
      .all()
      .flatMap((row) => {
        const parsed = NodeScoreForReaders.safeParse(row.entry);
        return parsed.success ? [{ runId: row.runId, entry: parsed.data }] : [];
      });
  }

  /**
   * The scored fingerprint answers of the run each published entry came from, in one query:
   * (node, service, prompt hash, answer hash) rows, for shared-backend groups.
   */
  publishedFingerprints(): {
    nodeAddress: string;
    serviceId: string;
    promptHash: string;
    responseHash: string;
  }[] {
    return this.db
      .select({
        nodeAddress: nodeScores.nodeAddress,
        serviceId: nodeScores.serviceId,
        promptHash: itemResults.promptHash,
        responseHash: itemResults.responseHash,
      })
      .from(nodeScores)
      .innerJoin(itemResults, eq(itemResults.runId, nodeScores.runId))
      .where(
        and(
          eq(itemResults.category, "fingerprint"),
          eq(itemResults.status, "scored"),
          isNotNull(itemResults.responseHash),
        ),
      )
      .all()
      .flatMap((row) => (row.responseHash === null ? [] : [{ ...row, responseHash: row.responseHash }]));
  }

  /** Replaces the identity group of a published entry (no write when it is already that group). */
  setSharedBackendGroup(address: string, serviceId: string, group: string | null): void {
    const where = and(eq(nodeScores.nodeAddress, address), eq(nodeScores.serviceId, serviceId));
    const row = this.db.select().from(nodeScores).where(where).get();
    if (row === undefined) return;
    const entry = NodeScoreForReaders.parse(row.entry);
    if ((entry.identity.sharedBackendGroup ?? null) === group) return;
    const next = { ...entry, identity: { ...entry.identity, sharedBackendGroup: group } };
    this.db.update(nodeScores).set({ entry: next }).where(where).run();
    this.#boardWrites++;
  }

  /**
   * Every published entry; rows that no longer parse (an old format) are left out. Rows are read
   * as a reader reads a board: fields a newer release wrote (an evaluator rolled back onto its
   * store) are dropped rather than hiding the node, while what is written stays strictly checked.
   */
  board(): NodeScore[] {
    return this.db
      .select()
      .from(nodeScores)
      .all()
      .flatMap((row) => {
        const parsed = NodeScoreForReaders.safeParse(row.entry);
        return parsed.success ? [parsed.data] : [];
      });
  }
}

export class EvaluatorStore extends Context.Tag("evaluator/Store")<EvaluatorStore, EvaluatorStoreImpl>() {
  /** Opens (and migrates) the SQLite file for the layer's lifetime. */
  static layer = (file: string) =>
    Layer.scoped(
      EvaluatorStore,
      openSqlite({ file, schema: evaluatorSchema, migrationsFolder: MIGRATIONS }).pipe(
        Effect.map(({ db }) => new EvaluatorStoreImpl(db)),
      ),
    );
  /** An in-memory database, for tests. */
  static layerTest = EvaluatorStore.layer(":memory:");
}
