import { readMigrationFiles } from "drizzle-orm/migrator";
import { Data } from "effect";

/** A row of drizzle's `__drizzle_migrations`: the migration file's hash and its journal time. */
export interface RecordedMigration {
  readonly hash: string;
  readonly createdAt: number;
}

/**
 * The database records migrations this build does not have (`DATABASE_NEWER_THAN_APP`): a newer
 * release migrated it, and this one was started on it after (a rollback of the binary, or an older
 * replica sharing a PostgreSQL database). drizzle's migrator applies only migrations later than the
 * last one recorded and says nothing of the others, so the older build would run on tables it does
 * not know — inserts that miss a NOT NULL column fail mid-request, or worse. The start is refused
 * before anything is written. `database` is the file, or the PostgreSQL URL without its password.
 */
export class DatabaseNewerThanAppError extends Data.TaggedError("DatabaseNewerThanAppError")<{
  readonly database: string;
  /** How many recorded migrations this build does not have. */
  readonly unknown: number;
}> {
  readonly code = "DATABASE_NEWER_THAN_APP";
  get reason(): string {
    const migrations = this.unknown === 1 ? "1 migration" : `${this.unknown} migrations`;
    return `The database ${this.database} was migrated by a newer release of this app: it records ${migrations} this release does not have, so this release would run on tables it does not know. Nothing was written to it. Start the newer release again, or restore the backup taken before the newer release first started on it`;
  }
  override get message(): string {
    return `${this.code}: ${this.reason}`;
  }
}

/**
 * The recorded migrations that are none of this build's. A migration is known by its journal time
 * (`created_at`, the journal's `when`), which is what drizzle's migrator itself compares: a file's
 * hash changes when a committed migration is reworded (gateway 0011 was) or checked out with other
 * line endings, and such a database is no newer than this build.
 */
export function unknownMigrations(
  recorded: readonly RecordedMigration[],
  migrationsFolder: string,
): RecordedMigration[] {
  const known = new Set(readMigrationFiles({ migrationsFolder }).map((m) => m.folderMillis));
  return recorded.filter((row) => !known.has(row.createdAt));
}
