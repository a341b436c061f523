import { closeSync, existsSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { type BetterSQLite3Database, drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { Data, Effect, type Scope } from "effect";
import { makePrivateDir } from "../files/private-dir.js";
import { sqliteRemedy } from "./database-failure.js";
import {
  DatabaseNewerThanAppError,
  type RecordedMigration,
  unknownMigrations,
} from "./unknown-migrations.js";
import { type CheckpointerOptions, WalCheckpointer } from "./wal-checkpointer.js";

/** The database file could not be opened or migrated (`DATABASE_UNAVAILABLE`). */
export class DatabaseError extends Data.TaggedError("DatabaseError")<{
  readonly file: string;
  readonly reason: string;
}> {
  readonly code = "DATABASE_UNAVAILABLE";
  override get message(): string {
    return `${this.code}: Cannot open the database ${this.file}: ${this.reason}`;
  }
}

/** A failure's reason, with its SQLite code and what to do when the code tells. */
function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return message;
  const remedy = sqliteRemedy(code);
  return remedy === undefined ? `${message} (${code})` : `${message} (${code}); ${remedy}`;
}

export interface OpenedDatabase<S extends Record<string, unknown>> {
  readonly db: BetterSQLite3Database<S>;
  readonly sqlite: Database.Database;
  /** Checkpoints the WAL off the app's thread (absent for `:memory:`). */
  readonly checkpointer?: WalCheckpointer;
}

/**
 * Opens (creating its folder) a SQLite file in WAL mode, applies the app's committed migrations
 * (refusing a file that records migrations this build does not have: {@link DatabaseNewerThanAppError}),
 * and closes it — after a WAL checkpoint — when the scope ends. A file it creates is readable by
 * its owner only (0600, as the key files; its WAL and shared-memory files take the same mode), in
 * a folder it creates as 0700: the ledger, accounts and sessions are no other local user's. A file
 * that exists keeps the mode its operator gave it. WAL with `synchronous=NORMAL` keeps every
 * committed transaction across a process crash (`kill -9`); only a power loss can drop the last
 * ones. Once the WAL grows, a worker thread checkpoints it (see
 * {@link WalCheckpointer}), so the copy and its fsync do not stall the event loop.
 */
export function openSqlite<S extends Record<string, unknown>>(options: {
  readonly file: string;
  readonly schema: S;
  readonly migrationsFolder: string;
  /** Overrides of the checkpointer's settings (tests). */
  readonly checkpoint?: Partial<CheckpointerOptions>;
}): Effect.Effect<OpenedDatabase<S>, DatabaseError | DatabaseNewerThanAppError, Scope.Scope> {
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        if (options.file !== ":memory:") {
          makePrivateDir(dirname(options.file));
          if (!existsSync(options.file)) closeSync(openSync(options.file, "a", 0o600));
        }
        const sqlite = new Database(options.file);
        // Read before anything is written (the journal mode included): a file a newer release
        // migrated is left as it was.
        const unknown = unknownMigrations(recordedMigrations(sqlite), options.migrationsFolder);
        if (unknown.length > 0) {
          sqlite.close();
          throw new DatabaseNewerThanAppError({ database: options.file, unknown: unknown.length });
        }
        sqlite.pragma("journal_mode = WAL");
        sqlite.pragma("synchronous = NORMAL");
        sqlite.pragma("busy_timeout = 5000");
        sqlite.pragma("foreign_keys = ON");
        const db = drizzle(sqlite, { schema: options.schema });
        migrate(db, { migrationsFolder: options.migrationsFolder });
        if (options.file === ":memory:") return { db, sqlite };
        return { db, sqlite, checkpointer: new WalCheckpointer(options.file, sqlite, options.checkpoint) };
      },
      catch: (e) =>
        e instanceof DatabaseNewerThanAppError
          ? e
          : new DatabaseError({ file: options.file, reason: reasonOf(e) }),
    }),
    ({ sqlite, checkpointer }) => {
      const close = Effect.sync(() => {
        if (!sqlite.open) return;
        try {
          sqlite.pragma("wal_checkpoint(TRUNCATE)");
        } finally {
          sqlite.close();
        }
      });
      if (checkpointer === undefined) return close;
      // A database whose worker never started closes synchronously (as before); one whose worker
      // runs waits for it to close its connection first.
      const stopped = checkpointer.stop();
      return checkpointer.started
        ? Effect.zipRight(
            Effect.promise(() => stopped),
            close,
          )
        : close;
    },
  );
}

/** drizzle's record of the migrations applied to the file (none for a new file). */
function recordedMigrations(sqlite: Database.Database): RecordedMigration[] {
  const table = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (table === undefined) return [];
  const rows = sqlite.prepare("SELECT hash, created_at FROM __drizzle_migrations").all() as {
    hash: string;
    created_at: number | string | null;
  }[];
  return rows.map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }));
}
