import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  databaseErrorCode,
  databaseUnavailable,
  describeDatabaseFailure,
  describeThrown,
  withDatabaseRemedy,
} from "./database-failure.js";

const root = mkdtempSync(join(tmpdir(), "pocket-db-failure-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What `statement` throws (drizzle's error quotes the statement). */
function failureOf(statement: () => unknown): unknown {
  try {
    statement();
  } catch (e) {
    return e;
  }
  throw new Error("the statement did not fail");
}

describe("describeDatabaseFailure", () => {
  it("names SQLite's code and message for a dropped table, without the query or its parameters", () => {
    const sqlite = new Database(join(root, "dropped.sqlite"));
    sqlite.exec("CREATE TABLE keys (secret TEXT); DROP TABLE keys;");
    const db = drizzle(sqlite);
    const e = failureOf(() => db.run(sql`INSERT INTO keys (secret) VALUES (${"sk-parameter-0123"})`));
    // The failure as thrown quotes the statement: that is why its message must not be logged.
    expect(String(e)).toContain("INSERT INTO keys");
    expect(databaseErrorCode(e)).toBe("SQLITE_ERROR");
    expect(describeDatabaseFailure(e)).toBe("SQLITE_ERROR: no such table: keys");
    expect(describeDatabaseFailure(e)).not.toContain("sk-parameter-0123");
    sqlite.close();
  });

  it("names SQLITE_READONLY for a file opened read-only", () => {
    const file = join(root, "readonly.sqlite");
    const setup = new Database(file);
    setup.exec("CREATE TABLE keys (secret TEXT)");
    setup.close();
    const sqlite = new Database(file, { readonly: true });
    const db = drizzle(sqlite);
    const e = failureOf(() => db.run(sql`INSERT INTO keys (secret) VALUES (${"sk-parameter-4567"})`));
    const said = describeDatabaseFailure(e);
    expect(said).toMatch(/^SQLITE_READONLY(_[A-Z]+)?: attempt to write a readonly database$/);
    expect(said).not.toContain("INSERT");
    sqlite.close();
  });

  it("names a PostgreSQL SQLSTATE and an error without a driver code by its class only", () => {
    const pgError = Object.assign(new Error('invalid input syntax for type integer: "sk-value"'), {
      code: "22P02",
    });
    const wrapped = new Error("Failed query: select $1\nparams: sk-value", { cause: pgError });
    expect(describeDatabaseFailure(wrapped)).toBe("SQLSTATE 22P02");
    expect(describeDatabaseFailure(new TypeError("Failed query: select 1"))).toBe("TypeError");
  });
});

describe("describeThrown", () => {
  it("describes a query thrown as a defect by the driver's code, and anything else by its first line", () => {
    const sqlite = new Database(join(root, "thrown.sqlite"));
    const db = drizzle(sqlite);
    const query = failureOf(() => db.run(sql`SELECT secret FROM missing WHERE secret = ${"sk-thrown-0123"}`));
    expect(String(query)).toContain("missing");
    expect(describeThrown(query)).toBe("SQLITE_ERROR: no such table: missing");
    sqlite.close();
    const bug = new TypeError("cannot read properties of undefined\n    at relay (/srv/app/relay.js:1:1)");
    expect(describeThrown(bug)).toBe("TypeError: cannot read properties of undefined");
    expect(describeThrown("a string\nsecond line")).toBe("a string");
    expect(describeThrown({ code: 42 })).toBe("object");
    // A query error whose cause carries no driver code (a binding's own range check, say) is
    // described by that cause, never by its message, which quotes the statement.
    const wrapped = Object.assign(new Error(`Failed query: SELECT ?\nparams: sk-bound-0123`), {
      query: "SELECT ?",
      params: ["sk-bound-0123"],
      cause: new RangeError("Too many parameter values were provided"),
    });
    expect(describeThrown(wrapped)).toBe("RangeError: Too many parameter values were provided");
    expect(describeThrown(Object.assign(new Error("Failed query: SELECT 1"), {}))).toBe(
      "a database query failed",
    );
  });
});

describe("databaseUnavailable", () => {
  const coded = (code: string, message = "failed") => Object.assign(new Error(message), { code });
  const wrapped = (cause: unknown) =>
    Object.assign(new Error("Failed query: update keys set spent = 1\nparams: "), { cause });

  it("is an outage for a server out of reach, restarting, out of connections, or a lock or statement that timed out", () => {
    for (const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "ENOTFOUND",
      "08006",
      "57P01",
      "57P03",
      "53300",
      "55P03",
      "57014",
      "25P03",
    ])
      expect(databaseUnavailable(wrapped(coded(code))), code).toBe(true);
    // The PostgreSQL driver's own words for a connection lost or never handed out.
    expect(databaseUnavailable(new Error("Connection terminated unexpectedly"))).toBe(true);
    expect(databaseUnavailable(new Error("timeout exceeded when trying to connect"))).toBe(true);
    // SQLite's file busy, full or not writable.
    for (const code of ["SQLITE_BUSY", "SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_READONLY"])
      expect(databaseUnavailable(coded(code)), code).toBe(true);
  });

  it("is no outage for a statement the database refuses: a missing table, a constraint, a bad value, a bug", () => {
    const missing = failureOf(() => {
      const sqlite = new Database(join(root, "unavailable.sqlite"));
      try {
        drizzle(sqlite).run(sql`select * from nothing_here`);
      } finally {
        sqlite.close();
      }
    });
    expect(databaseUnavailable(missing)).toBe(false);
    for (const code of ["42P01", "23505", "22P02", "40P01", "SQLITE_CORRUPT", "SQLITE_CONSTRAINT_UNIQUE"])
      expect(databaseUnavailable(wrapped(coded(code))), code).toBe(false);
    expect(databaseUnavailable(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(databaseUnavailable("plain")).toBe(false);
  });
});

describe("withDatabaseRemedy", () => {
  it("tells the operator what holds a locked file, for a write another process's transaction blocks", () => {
    const file = join(root, "locked.sqlite");
    const holder = new Database(file);
    holder.pragma("journal_mode = WAL");
    holder.exec("create table t (x integer)");
    holder.exec("begin immediate");
    const writer = drizzle(new Database(file, { timeout: 0 }));
    try {
      const reason = describeThrown(failureOf(() => writer.run(sql`insert into t values (${1})`)));
      expect(reason).toMatch(/^SQLITE_BUSY/);
      expect(withDatabaseRemedy(reason)).toBe(
        `${reason}; another process holds a write lock on the database file (a sqlite3 shell or a backup tool with a transaction open, or a second process on the same data folder): end it, then start again`,
      );
    } finally {
      holder.exec("rollback");
      holder.close();
    }
  });

  it("leaves words without a SQLite code that tells a fix as they are", () => {
    expect(withDatabaseRemedy("SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed: t.x")).toBe(
      "SQLITE_CONSTRAINT_UNIQUE: UNIQUE constraint failed: t.x",
    );
    expect(withDatabaseRemedy("SQLSTATE 57P01")).toBe("SQLSTATE 57P01");
    expect(withDatabaseRemedy("SQLITE_FULL: database or disk is full")).toMatch(/; free space on the disk/);
  });
});
