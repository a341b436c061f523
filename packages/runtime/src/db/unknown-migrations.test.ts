import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Effect, Exit, Scope } from "effect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresAvailability, startTestPostgres, type TestPostgres } from "../../test/support/testing.js";
import { openPostgres } from "./postgres.js";
import { plainSql } from "./sql-client.js";
import { openSqlite } from "./sqlite.js";
import { migrations } from "./test-migrations.js";

/**
 * An older build started on a database a newer one migrated (a rollback, an older replica on a
 * shared PostgreSQL database) refuses it with DATABASE_NEWER_THAN_APP and writes nothing, instead
 * of running on tables it does not know; a database at this build's migrations, or older, opens
 * as before.
 */

const REFUSAL =
  /^DATABASE_NEWER_THAN_APP: The database .+ was migrated by a newer release of this app: it records 1 migration this release does not have.*Nothing was written to it\. Start the newer release again, or restore the backup taken before the newer release first started on it$/;

describe("openSqlite on a file a newer build migrated", () => {
  const file = () => join(mkdtempSync(join(tmpdir(), "pocket-db-")), "app.sqlite");
  /** Opens and closes `path` with the first `count` migrations: its error, if any. */
  const open = (path: string, count: number) =>
    Effect.runSync(
      Effect.scoped(openSqlite({ file: path, schema: {}, migrationsFolder: migrations(count) })).pipe(
        Effect.flip,
        Effect.option,
      ),
    );
  const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
  const contents = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return {
        migrations: db.prepare("SELECT hash, created_at FROM __drizzle_migrations ORDER BY id").all(),
        columns: db.prepare("SELECT name FROM pragma_table_info('t') ORDER BY cid").pluck().all(),
        rows: db.prepare("SELECT * FROM t").all(),
      };
    } finally {
      db.close();
    }
  };

  it("refuses it with DATABASE_NEWER_THAN_APP, naming the file and what to do, and leaves it as it was", () => {
    const path = file();
    expect(open(path, 2)._tag).toBe("None");
    const db = new Database(path);
    db.prepare("INSERT INTO t (id, v, w) VALUES (1, 'a', 'b')").run();
    db.close();
    const before = { sha: sha(path), contents: contents(path) };

    const refused = open(path, 1);
    expect(refused._tag).toBe("Some");
    if (refused._tag !== "Some") return;
    expect(refused.value._tag).toBe("DatabaseNewerThanAppError");
    expect(refused.value.code).toBe("DATABASE_NEWER_THAN_APP");
    expect(refused.value.message).toMatch(REFUSAL);
    expect(refused.value.message).toContain(`The database ${path} was migrated`);
    expect(sha(path)).toBe(before.sha);
    expect(contents(path)).toEqual(before.contents);
    // The newer build still opens it.
    expect(open(path, 2)._tag).toBe("None");
  });

  it("refuses a file whose record holds one migration more than this build's, as a newer build writes it", () => {
    const path = file();
    expect(open(path, 1)._tag).toBe("None");
    const db = new Database(path);
    db.prepare(
      "INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('from-a-newer-build', 1800000000000)",
    ).run();
    db.close();
    const before = { sha: sha(path), contents: contents(path) };

    const refused = open(path, 1);
    expect(refused._tag === "Some" && refused.value.code).toBe("DATABASE_NEWER_THAN_APP");
    expect(sha(path)).toBe(before.sha);
    expect(contents(path)).toEqual(before.contents);
  });

  it("opens a file at exactly this build's migrations, and migrates an older one forward", () => {
    const path = file();
    expect(open(path, 1)._tag).toBe("None");
    expect(open(path, 1)._tag).toBe("None");
    expect(open(path, 2)._tag).toBe("None");
    expect(contents(path).columns).toEqual(["id", "v", "w"]);
    expect(contents(path).migrations).toHaveLength(2);
    expect(open(path, 2)._tag).toBe("None");
  });

  it("opens a file whose migration was reworded since it was applied: the same journal time is the same migration", () => {
    const path = file();
    expect(open(path, 1)._tag).toBe("None");
    const db = new Database(path);
    db.prepare("UPDATE __drizzle_migrations SET hash = 'before-a-comment-changed'").run();
    db.close();
    expect(open(path, 1)._tag).toBe("None");
  });
});

describe.skipIf(!postgresAvailability().available)(
  "openPostgres on a database a newer build migrated",
  () => {
    let server: TestPostgres;
    const scopes: Scope.CloseableScope[] = [];
    beforeAll(async () => {
      server = await startTestPostgres();
    }, 120_000);
    afterAll(async () => {
      for (const scope of scopes) await Effect.runPromise(Scope.close(scope, Exit.void));
      await server?.stop();
    });

    /** Opens `url` with the first `count` migrations, kept open until the file's end. */
    const open = (url: string, count: number) => {
      const scope = Effect.runSync(Scope.make());
      scopes.push(scope);
      return Effect.runPromise(
        Scope.extend(openPostgres({ url, migrationsFolder: migrations(count), poolSize: 1 }), scope).pipe(
          Effect.either,
        ),
      );
    };
    /** What the database holds: drizzle's record, `t`'s columns and rows. */
    const contents = async (url: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const recorded = await client.query(
          "SELECT hash, created_at::text AS created_at FROM drizzle.__drizzle_migrations ORDER BY id",
        );
        const columns = await client.query(
          "SELECT column_name FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position",
        );
        const rows = await client.query("SELECT * FROM t ORDER BY id");
        return {
          migrations: recorded.rows,
          columns: columns.rows.map((row) => row.column_name),
          rows: rows.rows,
        };
      } finally {
        await client.end();
      }
    };
    const sql = async (url: string, text: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };

    it("refuses it with DATABASE_NEWER_THAN_APP, naming the server without a password, and leaves it as it was", async () => {
      const url = await server.createDatabase();
      const newer = await open(url, 2);
      expect(newer._tag).toBe("Right");
      if (newer._tag !== "Right") return;
      await newer.right.client.run(plainSql`insert into t (id, v, w) values (1, 'a', 'b')`);
      const before = await contents(url);

      const refused = await open(url, 1);
      expect(refused._tag).toBe("Left");
      if (refused._tag !== "Left") return;
      expect(refused.left._tag).toBe("DatabaseNewerThanAppError");
      expect(refused.left.code).toBe("DATABASE_NEWER_THAN_APP");
      expect(refused.left.message).toMatch(REFUSAL);
      expect(refused.left.message).toContain(`The database ${new URL(url).toString()} was migrated`);
      expect(await contents(url)).toEqual(before);
    });

    it("refuses a database whose record holds one migration more than this build's, as a newer replica writes it", async () => {
      const url = await server.createDatabase();
      expect((await open(url, 1))._tag).toBe("Right");
      await sql(
        url,
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('from-a-newer-build', 1800000000000)",
      );
      const before = await contents(url);

      const refused = await open(url, 1);
      expect(refused._tag === "Left" && refused.left.code).toBe("DATABASE_NEWER_THAN_APP");
      expect(await contents(url)).toEqual(before);
    });

    it("opens a database at exactly this build's migrations, and migrates an older one forward", async () => {
      const url = await server.createDatabase();
      expect((await open(url, 1))._tag).toBe("Right");
      expect((await open(url, 1))._tag).toBe("Right");
      expect((await open(url, 2))._tag).toBe("Right");
      const migrated = await contents(url);
      expect(migrated.columns).toEqual(["id", "v", "w"]);
      expect(migrated.migrations).toHaveLength(2);
      expect((await open(url, 2))._tag).toBe("Right");
    });
  },
);
