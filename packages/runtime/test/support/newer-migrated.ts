import Database from "better-sqlite3";

/**
 * Makes `file` a SQLite database as a newer release of an app leaves it, as far as drizzle's record
 * tells: `__drizzle_migrations` holds one migration (journal time 2100-01-01) no build of today has.
 * An app started on it must refuse it (`DATABASE_NEWER_THAN_APP`) and write nothing to it.
 */
export function writeNewerMigratedSqlite(file: string): void {
  const db = new Database(file);
  try {
    db.exec(
      "CREATE TABLE __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)",
    );
    db.prepare("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('newer', 4102444800000)").run();
  } finally {
    db.close();
  }
}
