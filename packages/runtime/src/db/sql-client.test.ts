import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { StringChunk, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { Pool } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  plainSql,
  postgresClient,
  type SqlClient,
  STATEMENT_CACHE_SIZE,
  sqliteClient,
  templateCompiler,
} from "./sql-client.js";
import { type SqlSteps, sqlAll, sqlRun } from "./sql-steps.js";

let dir: string;
let sqlite: Database.Database;
let db: SqlClient;
/** SQL texts passed to `prepare`, in order, transaction control left out. */
let prepared: string[];
/** Transaction control statements run (BEGIN, SAVEPOINT, COMMIT…), in order. */
let controls: string[];
/** A control statement that throws when run (a failing disk), if any. */
let failing: string | undefined;
const CONTROL = /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pocket-sql-client-"));
  sqlite = new Database(join(dir, "a.sqlite"));
  sqlite.exec("create table t (id integer primary key, v text not null)");
  prepared = [];
  controls = [];
  failing = undefined;
  const prepare = sqlite.prepare.bind(sqlite);
  sqlite.prepare = ((source: string) => {
    const stmt = prepare(source);
    if (!CONTROL.test(source)) {
      prepared.push(source);
      return stmt;
    }
    const run = stmt.run.bind(stmt);
    stmt.run = ((...params: unknown[]) => {
      controls.push(source);
      if (source === failing) throw new Error("disk I/O error (test)");
      return run(...params);
    }) as typeof stmt.run;
    return stmt;
  }) as typeof sqlite.prepare;
  db = sqliteClient(sqlite);
});
afterEach(() => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the SQLite client's prepared statements", () => {
  it("prepares a SQL text once and binds each call's own values", async () => {
    for (const v of ["a", "b", "c"]) expect(await db.run(sql`insert into t (v) values (${v})`)).toBe(1);
    await db.transaction(async (tx) => {
      await tx.run(sql`insert into t (v) values (${"d"})`);
    });
    const byId = async (id: number) => db.get<{ v: string }>(sql`select v from t where id = ${id}`);
    expect([await byId(1), await byId(3), await byId(4), await byId(9)]).toEqual([
      { v: "a" },
      { v: "c" },
      { v: "d" },
      undefined,
    ]);
    expect(prepared).toEqual(["insert into t (v) values (?)", "select v from t where id = ?"]);
  });

  it("reads a changed schema through a statement prepared before the change", async () => {
    await db.run(sql`insert into t (v) values (${"a"})`);
    const everything = () => db.all<Record<string, unknown>>(sql`select * from t`);
    expect(await everything()).toEqual([{ id: 1, v: "a" }]);
    sqlite.exec("alter table t add column w integer not null default 7");
    expect(await everything()).toEqual([{ id: 1, v: "a", w: 7 }]);
  });

  it("keeps at most its cache size of statements, the oldest prepared going first", async () => {
    const literal = (n: number) => db.get<{ n: number }>(sql.raw(`select ${n} as n`));
    for (let n = 0; n <= STATEMENT_CACHE_SIZE; n++) expect(await literal(n)).toEqual({ n });
    expect(prepared).toHaveLength(STATEMENT_CACHE_SIZE + 1);
    // The newest are still held; the first was let go and is prepared again.
    expect(await literal(STATEMENT_CACHE_SIZE)).toEqual({ n: STATEMENT_CACHE_SIZE });
    expect(prepared).toHaveLength(STATEMENT_CACHE_SIZE + 1);
    expect(await literal(0)).toEqual({ n: 0 });
    expect(prepared).toHaveLength(STATEMENT_CACHE_SIZE + 2);
  });
});

describe("the SQLite client's transactions", () => {
  const values = () => db.all<{ v: string }>(sql`select v from t order by id`);

  it("commits transactions asked for together in one group, each whole and alone", async () => {
    const insert = (v: string) =>
      db.transaction(async (tx) => {
        await tx.run(sql`insert into t (v) values (${v})`);
        await tx.run(sql`insert into t (v) values (${`${v}2`})`);
        return v;
      });
    const refused = () =>
      db.transaction(async (tx) => {
        await tx.run(sql`insert into t (v) values (${"lost"})`);
        throw new Error("refused");
      });
    const results = await Promise.allSettled([insert("a"), refused(), insert("b"), insert("c")]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      "a",
      "refused",
      "b",
      "c",
    ]);
    expect((await values()).map((r) => r.v)).toEqual(["a", "a2", "b", "b2", "c", "c2"]);
    const begins = () => controls.filter((c) => c.startsWith("BEGIN"));
    expect(begins()).toEqual(["BEGIN IMMEDIATE"]);
    // Each member after the first in its own savepoint: the refused one rolled back alone.
    expect(controls.filter((c) => c.startsWith("ROLLBACK"))).toEqual(["ROLLBACK TO group_member"]);
    expect(sqlite.inTransaction).toBe(false);
    // A transaction alone still commits by itself.
    expect(await insert("d")).toBe("d");
    expect(begins()).toHaveLength(2);
  });

  it("takes no savepoint for a group's first member, and starts the group over when it fails", async () => {
    const insert = (v: string) => db.transaction((tx) => tx.run(sql`insert into t (v) values (${v})`));
    const refused = (v: string) =>
      db.transaction(async (tx) => {
        await tx.run(sql`insert into t (v) values (${v})`);
        throw new Error("refused");
      });
    const results = await Promise.allSettled([refused("x"), refused("y"), insert("a"), insert("b")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
    expect((await values()).map((r) => r.v)).toEqual(["a", "b"]);
    // Nothing committed before "a": each refusal rolled the whole transaction back and began again.
    expect(controls).toEqual([
      "BEGIN IMMEDIATE",
      "ROLLBACK",
      "BEGIN IMMEDIATE",
      "ROLLBACK",
      "BEGIN IMMEDIATE",
      "SAVEPOINT group_member",
      "RELEASE group_member",
      "COMMIT",
    ]);
    expect(sqlite.inTransaction).toBe(false);
  });

  it("holds every other statement until the group has committed", async () => {
    const first = db.transaction(async (tx) => {
      await tx.run(sql`insert into t (v) values (${"x"})`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return tx.all<{ v: string }>(sql`select v from t`);
    });
    const second = db.transaction((tx) => tx.run(sql`insert into t (v) values (${"y"})`));
    await new Promise((resolve) => setImmediate(resolve));
    const outside = values();
    expect(await first).toEqual([{ v: "x" }]);
    expect(await second).toBe(1);
    expect((await outside).map((r) => r.v)).toEqual(["x", "y"]);
  });

  it("runs bodies of steps in the same group as async ones, each told once, after the COMMIT", async () => {
    const told: string[] = [];
    const steps = (v: string, refuse = false) =>
      new Promise<unknown>((resolve, reject) =>
        db.transactionSteps(
          function* (): SqlSteps<string> {
            yield* sqlRun(sql`insert into t (v) values (${v})`);
            if (refuse) throw new Error("refused");
            const rows = yield* sqlAll<{ v: string }>(sql`select v from t where v = ${v}`);
            return rows[0]?.v ?? "";
          },
          (r) => {
            // Durable by now: the group's COMMIT ran before anyone heard of it.
            told.push(`${r} after ${controls.at(-1)}`);
            resolve(r);
          },
          (e) => {
            told.push(`${(e as Error).message} ${v}`);
            reject(e);
          },
        ),
      );
    const results = await Promise.allSettled([
      steps("a"),
      db.transaction((tx) => tx.run(sql`insert into t (v) values (${"b"})`)),
      steps("x", true),
      steps("c"),
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([
      "a",
      1,
      "refused",
      "c",
    ]);
    expect(told).toEqual(["a after COMMIT", "refused x", "c after COMMIT"]);
    expect((await values()).map((r) => r.v)).toEqual(["a", "b", "c"]);
    expect(controls.filter((c) => c.startsWith("BEGIN") || c === "COMMIT")).toEqual([
      "BEGIN IMMEDIATE",
      "COMMIT",
    ]);
    expect(controls.filter((c) => c.startsWith("ROLLBACK"))).toEqual(["ROLLBACK TO group_member"]);
    // Alone, a body of steps begins, runs and commits in the turn its group runs.
    await steps("d");
    expect(controls.slice(-2)).toEqual(["BEGIN IMMEDIATE", "COMMIT"]);
    await expect(steps("e", true)).rejects.toThrow("refused");
    expect(controls.slice(-2)).toEqual(["BEGIN IMMEDIATE", "ROLLBACK"]);
    expect(sqlite.inTransaction).toBe(false);
  });

  it("fails every member of a group whose commit fails, keeping none of them", async () => {
    failing = "COMMIT";
    const insert = (v: string) => db.transaction((tx) => tx.run(sql`insert into t (v) values (${v})`));
    const results = await Promise.allSettled([insert("a"), insert("b")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(controls.at(-1)).toBe("ROLLBACK");
    failing = undefined;
    expect(sqlite.inTransaction).toBe(false);
    expect(await values()).toEqual([]);
  });
});

describe("plainSql statements", () => {
  it("run on SQLite with drizzle's text, each template prepared once, booleans and nulls bound as drizzle binds them", async () => {
    sqlite.exec("create table p (id integer primary key, v text, flag integer, big integer)");
    const insert = (v: string | null, flag: boolean, big: bigint) =>
      db.run(plainSql`insert into p (v, flag, big) values (${v}, ${flag}, ${big})`);
    expect(await insert("a", true, 2n ** 40n)).toBe(1);
    expect(await insert(null, false, 7n)).toBe(1);
    await db.transaction(async (tx) => {
      await tx.run(plainSql`insert into p (v, flag, big) values (${"c"}, ${true}, ${1n})`);
    });
    const rows = await db.all<{ id: number; v: string | null; flag: number; big: number }>(
      plainSql`select id, v, flag, big from p where id >= ${1} order by id`,
    );
    expect(rows).toEqual([
      { id: 1, v: "a", flag: 1, big: 2 ** 40 },
      { id: 2, v: null, flag: 0, big: 7 },
      { id: 3, v: "c", flag: 1, big: 1 },
    ]);
    expect(await db.get(plainSql`select v from p where id = ${2}`)).toEqual({ v: null });
    const drizzleText = (query: ReturnType<typeof sql>) => new SQLiteSyncDialect().sqlToQuery(query).sql;
    expect(prepared).toEqual([
      drizzleText(sql`insert into p (v, flag, big) values (${"x"}, ${true}, ${1n})`),
      // The transaction's template is another template with the same text: one statement.
      drizzleText(sql`select id, v, flag, big from p where id >= ${1} order by id`),
      drizzleText(sql`select v from p where id = ${2}`),
    ]);
  });

  it("give PostgreSQL numbered placeholders, the text drizzle's pg dialect gives", async () => {
    const seen: { text: string; params: unknown[] }[] = [];
    const connection = {
      query: async (text: string, params: unknown[]) => {
        seen.push({ text, params });
        return { rows: [{ n: 1 }], rowCount: 1 };
      },
      on: () => connection,
      removeListener: () => connection,
      release: () => undefined,
    };
    const pool = {
      connect: (callback: (error: Error | undefined, client: typeof connection) => void) =>
        callback(undefined, connection),
    } as unknown as Pool;
    const pg = postgresClient(pool);
    for (const id of ["k1", "k2"]) {
      await pg.get(
        plainSql`update api_keys set spent = spent + ${5} where id = ${id} and status = ${"active"}`,
      );
    }
    const drizzle = new PgDialect().sqlToQuery(
      sql`update api_keys set spent = spent + ${5} where id = ${"k1"} and status = ${"active"}`,
    );
    expect(seen).toEqual([
      { text: drizzle.sql, params: [5, "k1", "active"] },
      { text: drizzle.sql, params: [5, "k2", "active"] },
    ]);
    expect(drizzle.sql).toContain("$3");
  });
});

describe("templateCompiler", () => {
  const dialects = { sqlite: new SQLiteSyncDialect(), postgres: new PgDialect() };
  for (const [name, dialect] of Object.entries(dialects)) {
    it(`gives drizzle's text and values on ${name}, the first time and every time after`, () => {
      const compile = templateCompiler(dialect);
      const queries = [
        (id: number, v: string | null) => sql`select * from t where id = ${id} and v is ${v}`,
        (id: number, v: string | null) => sql`select * from t where id = ${id} and v = ${v} and ${true}`,
        (id: number) => sql`select * from t where id in ${[id, id + 1]}`,
        (id: number) => sql`select ${sql.raw("v")} from t where id = ${id}`,
        (id: number) => sql.fromList([new StringChunk("select "), id]),
        (id: number) => sql.fromList([new StringChunk("select "), id, new StringChunk("")]),
        () => sql`select 1`,
        () => sql`select ${1}`.inlineParams(),
        () => sql``,
      ];
      for (let round = 0; round < 3; round++) {
        for (const query of queries) {
          const q = query(round, round === 1 ? null : `v${round}`);
          const { sql: text, params } = dialect.sqlToQuery(q);
          expect(compile(q)).toMatchObject({ sql: text, params });
        }
      }
    });
  }
});
