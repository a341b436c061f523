import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The migrations of {@link migrations}, in order: SQL both SQLite and PostgreSQL take. */
const MIGRATIONS = [
  { tag: "0000_init", sql: "CREATE TABLE t (id integer primary key, v text);" },
  { tag: "0001_w", sql: "ALTER TABLE t ADD COLUMN w text;" },
] as const;

/**
 * A migrations folder with the first `count` migrations (default one: table `t (id, v)`; the second
 * adds `t.w`), as builds of successive releases have them.
 */
export function migrations(count = 1): string {
  const dir = mkdtempSync(join(tmpdir(), "pocket-mig-"));
  mkdirSync(join(dir, "meta"));
  const entries = MIGRATIONS.slice(0, count).map((migration, idx) => {
    writeFileSync(join(dir, `${migration.tag}.sql`), migration.sql);
    return { idx, version: "6", when: idx + 1, tag: migration.tag, breakpoints: true };
  });
  writeFileSync(
    join(dir, "meta", "_journal.json"),
    JSON.stringify({ version: "7", dialect: "sqlite", entries }),
  );
  return dir;
}
