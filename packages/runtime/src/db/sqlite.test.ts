import { mkdtempSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { openSqlite } from "./sqlite.js";
import { migrations } from "./test-migrations.js";

describe("openSqlite", () => {
  it("opens in WAL mode, migrates, and keeps data across reopen", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-db-")), "sub", "a.sqlite");
    const folder = migrations();
    const open = openSqlite({ file, schema: {}, migrationsFolder: folder });
    Effect.runSync(
      Effect.scoped(
        Effect.gen(function* () {
          const { sqlite } = yield* open;
          expect(sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
          sqlite.prepare("INSERT INTO t (v) VALUES (?)").run("kept");
        }),
      ),
    );
    const value = Effect.runSync(
      Effect.scoped(Effect.map(open, ({ sqlite }) => sqlite.prepare("SELECT v FROM t").pluck().get())),
    );
    expect(value).toBe("kept");
  });

  it("creates the file, its WAL and its folder for their owner only, and leaves an existing file's mode", () => {
    const root = mkdtempSync(join(tmpdir(), "pocket-db-"));
    const file = join(root, "data", "c.sqlite");
    const mode = (path: string) => statSync(path).mode & 0o777;
    Effect.runSync(
      Effect.scoped(
        Effect.gen(function* () {
          const { sqlite } = yield* openSqlite({ file, schema: {}, migrationsFolder: migrations() });
          sqlite.prepare("INSERT INTO t (v) VALUES (?)").run("private");
          expect(mode(file)).toBe(0o600);
          expect(mode(`${file}-wal`)).toBe(0o600);
          expect(mode(join(root, "data"))).toBe(0o700);
        }),
      ),
    );
    // A file the operator made readable to others (a backup user) keeps its mode.
    const shared = join(root, "shared.sqlite");
    writeFileSync(shared, "", { mode: 0o640 });
    Effect.runSync(Effect.scoped(openSqlite({ file: shared, schema: {}, migrationsFolder: migrations() })));
    expect(mode(shared)).toBe(0o640);
  });

  it("fails with a DatabaseError, not a crash, when the migrations are missing", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-db-")), "b.sqlite");
    const result = Effect.runSync(
      Effect.either(Effect.scoped(openSqlite({ file, schema: {}, migrationsFolder: "/nonexistent" }))),
    );
    expect(Either.isLeft(result) && result.left._tag).toBe("DatabaseError");
  });

  it("says what to do with a damaged file: its SQLite code, and to restore a backup or move it aside", () => {
    const root = mkdtempSync(join(tmpdir(), "pocket-db-"));
    const message = (file: string) => {
      const result = Effect.runSync(
        Effect.either(Effect.scoped(openSqlite({ file, schema: {}, migrationsFolder: migrations() }))),
      );
      return Either.isLeft(result) ? result.left.message : "opened";
    };
    // Cut short (a disk that filled during a copy, a partial restore).
    const cut = join(root, "cut.sqlite");
    Effect.runSync(
      Effect.scoped(
        Effect.map(openSqlite({ file: cut, schema: {}, migrationsFolder: migrations() }), ({ sqlite }) => {
          const insert = sqlite.prepare("INSERT INTO t (v) VALUES (?)");
          for (let i = 0; i < 2_000; i++) insert.run(`row ${i} ${"x".repeat(100)}`);
        }),
      ),
    );
    truncateSync(cut, Math.floor(statSync(cut).size / 2));
    expect(message(cut)).toMatch(/^DATABASE_UNAVAILABLE: Cannot open the database .*SQLITE_CORRUPT/);
    expect(message(cut)).toMatch(/restore .*backup.*or move it aside/);
    // Not a database at all.
    const junk = join(root, "junk.sqlite");
    writeFileSync(junk, "not a database, but long enough to have a header of one".repeat(20));
    expect(message(junk)).toMatch(/SQLITE_NOTADB/);
    expect(message(junk)).toMatch(/restore .*backup.*or move it aside/);
  });
});
