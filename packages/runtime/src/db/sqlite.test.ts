import { mkdtempSync } from "node:fs";
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

  it("fails with a DatabaseError, not a crash, when the migrations are missing", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pocket-db-")), "b.sqlite");
    const result = Effect.runSync(
      Effect.either(Effect.scoped(openSqlite({ file, schema: {}, migrationsFolder: "/nonexistent" }))),
    );
    expect(Either.isLeft(result) && result.left._tag).toBe("DatabaseError");
  });
});
