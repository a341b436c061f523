import type BetterSqlite3 from "better-sqlite3";
import { is, type SQL, StringChunk } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { Pool, PoolClient } from "pg";
import {
  DEFAULT_POSTGRES_QUERY_TIMEOUT_MS,
  type PostgresTimeoutError,
  takeConnection,
  withinDeadline,
} from "./postgres-deadline.js";
import { runSteps, runStepsSync, type SqlSteps } from "./sql-steps.js";

/** The SQL dialects an app's storage runs on: SQLite (embedded, one process) or PostgreSQL (shared). */
export type SqlDialect = "sqlite" | "postgres";

/**
 * One asynchronous way to run SQL on either dialect. Queries are written once with drizzle's
 * `sql` template in SQL both dialects accept (`INSERT … ON CONFLICT`, `RETURNING`, `coalesce`,
 * `cast(… as bigint)`, double-quoted camelCase aliases); the client compiles the placeholders.
 * Integers come back as JS numbers on both (PostgreSQL BIGINT included: money and times fit in
 * 2^53); a sum that may not is cast to text by the query.
 */
export interface SqlClient {
  readonly dialect: SqlDialect;
  /** Every row the statement returns. */
  all<T>(query: SqlQuery): Promise<T[]>;
  /** The first row, if any. */
  get<T>(query: SqlQuery): Promise<T | undefined>;
  /** Runs a statement; returns how many rows it changed. */
  run(query: SqlQuery): Promise<number>;
  /**
   * Runs `f` in one transaction (SQLite: `BEGIN IMMEDIATE`, nothing else runs on the connection
   * until it ends; PostgreSQL: one pooled connection, READ COMMITTED, retried on a deadlock or
   * serialization failure). A throw rolls back. Inside, `tx.transaction` runs `f` inline.
   */
  transaction<A>(f: (tx: SqlClient) => Promise<A>): Promise<A>;
  /**
   * {@link transaction} for a body of {@link SqlSteps}, answered through `resolve` or `reject`
   * (once) instead of a promise. On SQLite the body runs synchronously inside its group commit, and
   * the caller hears once the COMMIT made it durable: no promise per statement or per transaction.
   * `steps` makes the body afresh for each attempt (PostgreSQL retries).
   */
  transactionSteps<A>(
    steps: () => SqlSteps<A>,
    resolve: (result: A) => void,
    reject: (error: unknown) => void,
  ): void;
}

/** A value a {@link plainSql} statement binds: what both drivers take as a parameter as it is. */
export type PlainSqlValue = string | number | bigint | boolean | null;

/**
 * A statement written with {@link plainSql}: its template's literal parts (the same array at every
 * call of one template) and the values between them.
 */
export class PlainSql {
  constructor(
    readonly parts: TemplateStringsArray,
    readonly values: readonly PlainSqlValue[],
  ) {}
}

/** A statement a {@link SqlClient} runs: drizzle's `sql` template, or {@link plainSql}'s. */
export type SqlQuery = SQL | PlainSql;

/**
 * The `sql` template for statements on the hot path whose values are all plain (strings, numbers,
 * bigints, booleans, null): the same SQL text as drizzle's `sql` would run, without building its
 * chunks on every call. Each template's text is compiled once per dialect (keyed by the template's
 * own parts array). Anything else (nested SQL, columns, lists) needs drizzle's `sql`.
 *
 * @example
 * ```ts
 * await db.get(plainSql`select spent from api_keys where id = ${keyId}`);
 * ```
 */
export const plainSql = (parts: TemplateStringsArray, ...values: PlainSqlValue[]): PlainSql =>
  new PlainSql(parts, values);

/** The texts of plain templates, by their parts, for one dialect's placeholders. */
function plainCompiler(placeholder: (index: number) => string): (query: PlainSql) => Compiled {
  const texts = new WeakMap<TemplateStringsArray, string>();
  return (query) => {
    let text = texts.get(query.parts);
    if (text === undefined) {
      text = query.parts[0] as string;
      for (let i = 1; i < query.parts.length; i++) text += placeholder(i - 1) + (query.parts[i] as string);
      texts.set(query.parts, text);
    }
    return { sql: text, params: query.values as unknown[] };
  };
}

const sqliteDialect = new SQLiteSyncDialect();
const pgDialect = new PgDialect();

/** A statement's text and its values, as the driver takes them. */
interface Compiled {
  readonly sql: string;
  readonly params: unknown[];
}

/** One template's text on a dialect: the literal parts it was compiled from, and what they gave. */
interface CompiledTemplate {
  /** How many chunks: its parts and its values. */
  readonly chunks: number;
  readonly parts: readonly string[];
  readonly sql: string;
}

/** Distinct literal openings remembered per dialect, and templates per opening (see {@link templateCompiler}). */
const TEMPLATE_CACHE_SIZE = 1024;
const TEMPLATES_PER_OPENING = 8;

/**
 * Compiles drizzle `sql` templates to a dialect's text and values, remembering the text of each
 * template whose values are all plain (string, number, bigint, boolean, null): its text depends
 * only on its literal parts then, so the next query with the same parts reuses it and only its
 * values are collected. Anything else (nested SQL, columns, arrays, objects, inlined values) goes
 * through drizzle every time. The cache is bounded: a text built with a literal in it cannot grow
 * it without bound.
 */
export function templateCompiler(dialect: {
  sqlToQuery(query: SQL): { sql: string; params: unknown[] };
}): (query: SQL) => Compiled {
  const byOpening = new Map<string, CompiledTemplate[]>();
  return (query) => {
    const chunks = query.queryChunks;
    const parts: string[] = [];
    const params: unknown[] = [];
    let plain =
      !(query as unknown as { shouldInlineParams: boolean }).shouldInlineParams && chunks.length > 0;
    for (let i = 0; plain && i < chunks.length; i++) {
      const chunk = chunks[i];
      // Literal parts and values alternate, as the template wrote them.
      if (i % 2 === 0) {
        if (typeof chunk === "object" && chunk !== null && is(chunk, StringChunk)) {
          const value = chunk.value;
          parts.push(value.length === 1 ? (value[0] as string) : value.join(""));
        } else plain = false;
      } else if (
        chunk === null ||
        (typeof chunk !== "object" &&
          typeof chunk !== "undefined" &&
          typeof chunk !== "function" &&
          typeof chunk !== "symbol")
      ) {
        params.push(chunk);
      } else plain = false;
    }
    if (!plain) return dialect.sqlToQuery(query);
    const opening = parts[0] as string;
    const known = byOpening.get(opening);
    if (known !== undefined) {
      for (const template of known) {
        if (template.chunks === chunks.length && template.parts.every((part, i) => part === parts[i]))
          return { sql: template.sql, params };
      }
    }
    const compiled = dialect.sqlToQuery(query);
    if (known === undefined) {
      if (byOpening.size >= TEMPLATE_CACHE_SIZE) byOpening.delete(byOpening.keys().next().value as string);
      byOpening.set(opening, [{ chunks: chunks.length, parts, sql: compiled.sql }]);
    } else if (known.length < TEMPLATES_PER_OPENING)
      known.push({ chunks: chunks.length, parts, sql: compiled.sql });
    return compiled;
  };
}

const compileSqliteSql = templateCompiler(sqliteDialect);
const compilePgSql = templateCompiler(pgDialect);
const compileSqlitePlain = plainCompiler(() => "?");
const compilePgPlain = plainCompiler((index) => `$${index + 1}`);
const compileSqlite = (query: SqlQuery): Compiled =>
  query instanceof PlainSql ? compileSqlitePlain(query) : compileSqliteSql(query);
const compilePg = (query: SqlQuery): Compiled =>
  query instanceof PlainSql ? compilePgPlain(query) : compilePgSql(query);

/** better-sqlite3 binds numbers, strings, bigints, buffers and null: booleans become 0/1. */
const sqliteParam = (v: unknown): unknown =>
  v === undefined ? null : typeof v === "boolean" ? (v ? 1 : 0) : v;

/**
 * Prepared statements a SQLite client keeps, by SQL text (the oldest prepared goes first when
 * full): far more than the distinct texts an app runs, so a text built with a literal in it
 * cannot grow the cache without bound.
 */
export const STATEMENT_CACHE_SIZE = 256;

/** The most transactions one group commit holds (see {@link sqliteClient}). */
const MAX_GROUP_COMMIT = 64;

/** One queue per database file in this process: see {@link sqliteClient}. */
interface FileLock {
  tail: Promise<unknown>;
  inTransaction: boolean;
  /** Tasks chained on `tail` that have not ended: none, and no transaction, means the file is free now. */
  pending: number;
}
const fileLocks = new Map<string, FileLock>();

/**
 * A {@link SqlClient} over one better-sqlite3 connection, preparing each SQL text once (up to
 * {@link STATEMENT_CACHE_SIZE} texts). Statements run synchronously; a
 * transaction holds the file (every connection this process has to it), so a statement from
 * another task waits for it to end instead of landing inside it — or, on another connection,
 * blocking the thread on SQLite's busy wait while the transaction it waits for cannot go on.
 * Other processes sharing the file wait on SQLite's own lock (`busy_timeout`).
 */
export function sqliteClient(sqlite: BetterSqlite3.Database): SqlClient {
  const name = sqlite.memory ? `:memory:${Math.random()}` : sqlite.name;
  const lock = fileLocks.get(name) ?? { tail: Promise.resolve(), inTransaction: false, pending: 0 };
  fileLocks.set(name, lock);

  // Statements prepared once per SQL text (queries bind their values as parameters, so the texts
  // are few): preparing is most of a short statement's cost on the budget path.
  const statements = new Map<string, BetterSqlite3.Statement>();
  const compile = (query: SqlQuery) => {
    const q = compileSqlite(query);
    let stmt = statements.get(q.sql);
    if (stmt === undefined) {
      stmt = sqlite.prepare(q.sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      statements.set(q.sql, stmt);
    }
    return { stmt, params: q.params.map(sqliteParam) };
  };
  // Transaction control as prepared statements too: `exec` parses its text on every call.
  const control = (sql: string) => {
    let stmt: BetterSqlite3.Statement | undefined;
    return () => {
      stmt ??= sqlite.prepare(sql);
      stmt.run();
    };
  };
  const begin = control("BEGIN IMMEDIATE");
  const commit = control("COMMIT");
  const rollback = control("ROLLBACK");
  const savepoint = control("SAVEPOINT group_member");
  const release = control("RELEASE group_member");
  const rollbackToSavepoint = control("ROLLBACK TO group_member");
  const direct = {
    all<T>(query: SqlQuery): T[] {
      const { stmt, params } = compile(query);
      if (stmt.reader) return stmt.all(...params) as T[];
      stmt.run(...params);
      return [];
    },
    // A statement with RETURNING makes all its changes on its first step, so one row is enough.
    get<T>(query: SqlQuery): T | undefined {
      const { stmt, params } = compile(query);
      if (stmt.reader) return stmt.get(...params) as T | undefined;
      stmt.run(...params);
      return undefined;
    },
    run(query: SqlQuery): number {
      const { stmt, params } = compile(query);
      if (stmt.reader) return stmt.all(...params).length;
      return stmt.run(...params).changes;
    },
  };
  const ended = () => {
    lock.pending--;
  };
  /** Holds the file until `task` ends: what comes later is queued after it. */
  const hold = (task: Promise<unknown>) => {
    lock.pending++;
    lock.tail = task.then(ended, ended);
  };
  /** Runs `f` after any transaction in progress (and the ones queued before it). */
  const queued = <A>(f: () => A | Promise<A>): Promise<A> => {
    const next = lock.tail.then(f);
    hold(next);
    return next;
  };
  const now = <A>(f: () => A): Promise<A> => {
    if (!lock.inTransaction) {
      try {
        return Promise.resolve(f());
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return queued(f);
  };

  /**
   * Transactions asked for in one turn of the event loop commit together (group commit): one
   * `BEGIN IMMEDIATE … COMMIT` around them, each after the first in its own savepoint (before
   * the first succeeds, the transaction itself is one), so each still commits or rolls back whole
   * and alone, and none resolves before the COMMIT that makes it durable. A busy writer pays one
   * commit for several transactions instead of one each.
   */
  const waiting: PendingTransaction[] = [];
  const commitWaiting = async (): Promise<void> => {
    const batch = waiting.splice(0, MAX_GROUP_COMMIT);
    if (waiting.length > 0) setImmediate(scheduleWaiting);
    if (batch.length === 0) return;
    // Each member's own failure, by its place in the batch; the others hear once the group ended.
    const failed = new Map<number, unknown>();
    const results: unknown[] = [];
    let next = 0;
    let committed = false;
    let groupError: unknown;
    try {
      begin();
      lock.inTransaction = true;
      for (; next < batch.length; next++) {
        const t = batch[next] as PendingTransaction;
        // Before the first member that commits, the transaction holds nothing to keep: a failure
        // rolls all of it back and begins again, so no savepoint is needed until then.
        const alone = results.length === 0;
        if (!alone) savepoint();
        try {
          // A body of steps runs at once, without a turn of its own; only an async one is awaited.
          results.push(t.steps !== undefined ? runStepsSync(t.steps(), direct) : await t.f(inside));
          if (!alone) release();
        } catch (e) {
          failed.set(next, e);
          // SQLite may have ended the whole transaction (an I/O error): then nothing of the group
          // holds, and the rest must not run outside a transaction.
          if (!sqlite.inTransaction) {
            next++;
            throw e;
          }
          if (alone) {
            rollback();
            if (next + 1 < batch.length) begin();
          } else {
            rollbackToSavepoint();
            release();
          }
        }
      }
      // Not in a transaction only when the last member was alone and rolled back: nothing to commit.
      if (sqlite.inTransaction) commit();
      committed = true;
    } catch (e) {
      groupError = e;
      if (sqlite.inTransaction) {
        try {
          rollback();
        } catch {
          // The connection's own failure: every member is told below.
        }
      }
    } finally {
      lock.inTransaction = false;
    }
    // Told only now, the file free again: a caller that runs a statement at once does not queue it
    // behind a transaction that has already ended.
    let done = 0;
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i] as PendingTransaction;
      if (failed.has(i)) t.reject(failed.get(i));
      else if (committed) t.resolve(results[done++]);
      else t.reject(groupError);
    }
  };
  const scheduleWaiting = () => {
    // The file free (nothing queued, no transaction): the group runs now, and a group of steps
    // alone runs to its end in this turn, with no promise chained on the file's queue.
    if (lock.pending === 0 && !lock.inTransaction) {
      const running = commitWaiting();
      if (lock.inTransaction) hold(running);
    } else queued(commitWaiting).catch(() => undefined);
  };
  const ask = (t: PendingTransaction) => {
    waiting.push(t);
    if (waiting.length === 1) setImmediate(scheduleWaiting);
  };

  const inside: SqlClient = {
    dialect: "sqlite",
    all: async (q) => direct.all(q),
    get: async (q) => direct.get(q) as never,
    run: async (q) => direct.run(q),
    transaction: (f) => f(inside),
    transactionSteps: (steps, resolve, reject) => {
      let result: Parameters<typeof resolve>[0];
      try {
        result = runStepsSync(steps(), direct);
      } catch (e) {
        reject(e);
        return;
      }
      resolve(result);
    },
  };
  return {
    dialect: "sqlite",
    all: (q) => now(() => direct.all(q)),
    get: (q) => now(() => direct.get(q) as never),
    run: (q) => now(() => direct.run(q)),
    transaction: <A>(f: (tx: SqlClient) => Promise<A>) =>
      new Promise<A>((resolve, reject) => {
        ask({ f, steps: undefined, resolve, reject } as PendingTransaction);
      }),
    transactionSteps: (steps, resolve, reject) => {
      ask({ f: undefined, steps, resolve, reject } as PendingTransaction);
    },
  };
}

/**
 * A transaction asked for and not yet run: see {@link sqliteClient}'s group commit. Its body is
 * an async function (`f`) or steps run synchronously (`steps`).
 */
type PendingTransaction = {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
} & (
  | { readonly f: (tx: SqlClient) => Promise<unknown>; readonly steps: undefined }
  | { readonly f: undefined; readonly steps: () => SqlSteps<unknown> }
);

/** PostgreSQL error codes a transaction is retried on. */
const RETRYABLE = new Set(["40001", "40P01"]);
const TRANSACTION_ATTEMPTS = 5;

async function pgAll<T>(runner: PoolClient, query: SqlQuery): Promise<{ rows: T[]; changes: number }> {
  const q = compilePg(query);
  const result = await runner.query(q.sql, q.params as unknown[]);
  return { rows: result.rows as T[], changes: result.rowCount ?? 0 };
}

function pgConnectionClient(connection: PoolClient): SqlClient {
  const self: SqlClient = {
    dialect: "postgres",
    all: async (q) => (await pgAll(connection, q)).rows as never,
    get: async (q) => (await pgAll(connection, q)).rows[0] as never,
    run: async (q) => (await pgAll(connection, q)).changes,
    transaction: (f) => f(self),
    transactionSteps: (steps, resolve, reject) => {
      runSteps(steps(), self).then(resolve, reject);
    },
  };
  return self;
}

/** How a {@link postgresClient} bounds its calls. */
export interface PostgresClientOptions {
  /**
   * Longest a statement, or a transaction from its BEGIN to its COMMIT, may take (default
   * {@link DEFAULT_POSTGRES_QUERY_TIMEOUT_MS}); past it the connection is closed and the call
   * fails with a {@link PostgresTimeoutError}. Waiting for a pooled connection is not counted.
   */
  readonly queryTimeoutMs?: number;
}

/**
 * A {@link SqlClient} over a `pg` pool: statements take any connection, a transaction holds one.
 * Each call has a deadline (see {@link PostgresClientOptions}): a server that stops answering
 * without closing the connection (a partition, a frozen host) fails the call as the database being
 * unavailable, and its connection is closed, so the pool replaces it, instead of being held for as
 * long as the kernel keeps the socket.
 */
export function postgresClient(pool: Pool, options: PostgresClientOptions = {}): SqlClient {
  const timeoutMs = options.queryTimeoutMs ?? DEFAULT_POSTGRES_QUERY_TIMEOUT_MS;
  const statement = async <T>(query: SqlQuery): Promise<{ rows: T[]; changes: number }> => {
    let broken: Error | undefined;
    const lost = (e: Error) => {
      broken ??= e;
    };
    const connection = await takeConnection(pool, lost);
    try {
      return await withinDeadline(connection, "statement", timeoutMs, pgAll<T>(connection, query), lost);
    } catch (e) {
      // As the pool's own `query` does: a connection whose statement failed is not used again.
      broken ??= e as Error;
      throw e;
    } finally {
      connection.removeListener("error", lost);
      connection.release(broken);
    }
  };
  const client: SqlClient = {
    dialect: "postgres",
    all: async (q) => (await statement(q)).rows as never,
    get: async (q) => (await statement(q)).rows[0] as never,
    run: async (q) => (await statement(q)).changes,
    transaction: async (f) => {
      for (let attempt = 1; ; attempt++) {
        let broken: Error | undefined;
        // The server may end the connection while no statement runs on it (a restart, a failover,
        // `pg_terminate_backend`), even in the packet that made a new connection ready: the
        // transaction then fails (its next statement or COMMIT is refused) and the connection
        // leaves the pool. So does one that gets no answer within the deadline.
        const lost = (e: Error) => {
          broken ??= e;
        };
        const connection = await takeConnection(pool, lost);
        const run = async () => {
          try {
            await connection.query("BEGIN");
            const result = await f(pgConnectionClient(connection));
            await connection.query("COMMIT");
            return result;
          } catch (e) {
            await connection.query("ROLLBACK").catch((rollback: Error) => {
              broken ??= rollback;
            });
            throw e;
          }
        };
        try {
          return await withinDeadline(connection, "transaction", timeoutMs, run(), lost);
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (typeof code === "string" && RETRYABLE.has(code) && attempt < TRANSACTION_ATTEMPTS) continue;
          throw e;
        } finally {
          connection.removeListener("error", lost);
          connection.release(broken);
        }
      }
    },
    transactionSteps: (steps, resolve, reject) => {
      client.transaction((tx) => runSteps(steps(), tx)).then(resolve, reject);
    },
  };
  return client;
}
