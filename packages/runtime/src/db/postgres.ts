import type { ErrorCode } from "@pocket-ai/protocol";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { Data, Effect, type Scope } from "effect";
import pg from "pg";
import {
  DEFAULT_POSTGRES_MIGRATE_TIMEOUT_MS,
  PostgresTimeoutError,
  withinDeadline,
} from "./postgres-deadline.js";
import { postgresClient, type SqlClient } from "./sql-client.js";
import {
  DatabaseNewerThanAppError,
  type RecordedMigration,
  unknownMigrations,
} from "./unknown-migrations.js";

/**
 * PostgreSQL could not be used: `INVALID_CONFIG` for a URL that is not a `postgres://` URL,
 * `DATABASE_UNAVAILABLE` for a server that cannot be reached, refuses the login, or fails the
 * migrations. The message names the server (never the password) and what to do.
 */
export class PostgresError extends Data.TaggedError("PostgresError")<{
  readonly code: Extract<ErrorCode, "INVALID_CONFIG" | "DATABASE_UNAVAILABLE">;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.code}: ${this.reason}`;
  }
}

export interface OpenedPostgres {
  readonly pool: pg.Pool;
  readonly client: SqlClient;
}

/**
 * The URL without its password, for messages and logs: the one before the host, and any query
 * parameter that carries one (`?password=…`, `?sslpassword=…`), which the driver reads as well.
 * Anything that is not a `postgres://` URL is not shown at all: `user:secret@host/db` (the scheme
 * left out) parses as a URL whose scheme is `user:` and whose path holds the password.
 */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")
      return "(not a postgres:// URL)";
    if (parsed.password !== "") parsed.password = "***";
    for (const name of [...parsed.searchParams.keys()])
      if (/password/i.test(name)) parsed.searchParams.set(name, "***");
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

const INT8_OID = 20;

/**
 * BIGINT columns (money in µUSD, times in ms, counts) come back as JS numbers, as SQLite's
 * integers do; every value the apps keep there is below 2^53. Sums that could pass it are cast to
 * text by their query.
 */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

/**
 * TCP keepalive on every connection: an idle connection to a server that became unreachable
 * without closing it (a partition, a frozen host) is closed after 10 s of silence and ten
 * unanswered probes a second apart, so the pool replaces it before a request gets it, instead of
 * the kernel keeping it for hours. (A statement in flight is bounded by the client's deadline:
 * keepalive does not probe while sent bytes wait for their acknowledgement.)
 */
const KEEP_ALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;

/** One lock number per app's migrations, so replicas starting together migrate one at a time. */
export const MIGRATION_LOCK = 0x706f636b; // "pock"

/**
 * Connects a pool to PostgreSQL, applies the app's committed migrations (under an advisory lock:
 * replicas starting at once migrate one after another, the later ones find nothing to do) and
 * ends the pool when the scope closes. A database that records migrations this build does not
 * have (a newer release migrated it) is refused untouched: {@link DatabaseNewerThanAppError}.
 */
export function openPostgres(options: {
  readonly url: string;
  readonly migrationsFolder: string;
  /** Connections per process (default 10). */
  readonly poolSize?: number;
  /** Longest the check at start waits for a connection to the server (default 10 s). */
  readonly connectTimeoutMs?: number;
  /**
   * Longest a statement waits for a pooled connection, a new connection's handshake included
   * (default 60 s): requests queue for a busy pool, and a server that does not answer a new
   * connection fails them as unavailable.
   */
  readonly acquireTimeoutMs?: number;
  /**
   * Longest a statement, or a transaction from BEGIN to COMMIT, may take before its connection is
   * closed and the call fails as unavailable (default 60 s, above the lock wait and the idle
   * transaction's limit): see {@link postgresClient}.
   */
  readonly queryTimeoutMs?: number;
  /**
   * Longest the start may take to connect, take the migration lock (another replica starting at
   * once holds it while it migrates) and apply the migrations (default 10 minutes): past it the
   * start's connection is closed and the start fails as unavailable, instead of waiting forever on
   * a server that stopped answering or a lock that is never released.
   */
  readonly migrateTimeoutMs?: number;
  /** Longest a statement waits for a row or table lock another session holds (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** Longest a transaction of this pool may sit idle between statements before the server ends it (default 30 s). */
  readonly idleInTransactionTimeoutMs?: number;
}): Effect.Effect<OpenedPostgres, PostgresError | DatabaseNewerThanAppError, Scope.Scope> {
  const where = redactDatabaseUrl(options.url);
  return Effect.gen(function* () {
    let protocol: string | undefined;
    try {
      protocol = new URL(options.url).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== "postgres:" && protocol !== "postgresql:") {
      return yield* new PostgresError({
        code: "INVALID_CONFIG",
        reason:
          "the database URL is not a PostgreSQL URL (it is not shown: it may hold a password); write it as postgres://user:password@host:5432/database",
      });
    }
    // Checked first on a connection of its own, with a short timeout: a server that does not
    // answer stops the start with a clear error instead of hanging. The lock wait and the
    // migrations are bounded as a whole: a server that stops answering mid-start, or a lock held by
    // a replica that froze while migrating, ends the start with an error an operator can act on.
    const migrateTimeoutMs = options.migrateTimeoutMs ?? DEFAULT_POSTGRES_MIGRATE_TIMEOUT_MS;
    yield* Effect.tryPromise({
      try: () => {
        const connection = new pg.Client({
          connectionString: options.url,
          connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
          ...KEEP_ALIVE,
          types,
        });
        // A connection the server ends mid-migration (a restart) fails the start with the error
        // below, not with an unhandled 'error' event.
        connection.on("error", () => undefined);
        const start = async () => {
          await connection.connect();
          try {
            // Asked for again and again rather than waited for inside the server: a backend that
            // waits for a lock does not notice its client has gone, and would keep waiting (and
            // then hold the lock) after this start gave up.
            while (!(await tryMigrationLock(connection))) await sleep(LOCK_RETRY_MS);
            try {
              // Under the lock, so a newer replica migrating at this moment is seen once it is done.
              const recorded = await recordedMigrations(connection);
              const unknown = unknownMigrations(recorded, options.migrationsFolder);
              if (unknown.length > 0)
                throw new DatabaseNewerThanAppError({ database: where, unknown: unknown.length });
              await migrate(drizzle(connection), { migrationsFolder: options.migrationsFolder });
            } finally {
              await connection.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
            }
          } finally {
            await connection.end();
          }
        };
        // Past the deadline the socket is closed: the server drops the session's advisory lock
        // and rolls back a migration in flight when it sees the close.
        return withinDeadline(connection, "migration", migrateTimeoutMs, start(), () => undefined);
      },
      catch: (e) =>
        e instanceof DatabaseNewerThanAppError
          ? e
          : new PostgresError({
              code: "DATABASE_UNAVAILABLE",
              reason:
                e instanceof PostgresTimeoutError
                  ? `PostgreSQL at ${where} did not let this process take the migration lock and apply the migrations within ${migrateTimeoutMs} ms (another replica may be migrating, or be stuck holding the lock; or the server stopped answering); start again once the other replica is done or the server answers, or raise database.migrateTimeoutMs for a migration that takes longer`
                  : `cannot use PostgreSQL at ${where}: ${describe(e)}; check that the server runs, the URL's host, port, user, password and database are right, and that the user may create tables`,
            }),
    });
    // Requests wait for a pooled connection (a burst on one key queues on its row lock) rather
    // than fail; a connection that cannot be made in a minute fails the request as a storage error.
    // A lock held by a session that does not go on (a replica frozen or cut off mid-transaction,
    // an operator's open transaction) must not hold its waiters, and the pool they fill, forever:
    // a wait for a lock fails after `lockTimeoutMs` (that request answers DATABASE_UNAVAILABLE),
    // and the server ends a transaction of ours left idle for `idleInTransactionTimeoutMs`, which
    // frees its locks. The gateway's transactions run their statements back to back. A server that
    // stops answering without closing the connection (a partition, a frozen host) is found by the
    // client: TCP keepalive on idle connections, a deadline on each statement and transaction.
    const pool = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new pg.Pool({
            connectionString: options.url,
            max: options.poolSize ?? 10,
            connectionTimeoutMillis: options.acquireTimeoutMs ?? 60_000,
            ...KEEP_ALIVE,
            lock_timeout: options.lockTimeoutMs ?? 10_000,
            idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 30_000,
            types,
          }),
      ),
      (p) => Effect.promise(() => p.end()).pipe(Effect.ignore),
    );
    // An idle connection the server drops (restart, failover) must not crash the process.
    pool.on("error", () => undefined);
    return {
      pool,
      client: postgresClient(
        pool,
        options.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: options.queryTimeoutMs },
      ),
    };
  });
}

/** How often a start asks again for the migration lock another replica holds. */
const LOCK_RETRY_MS = 250;

async function tryMigrationLock(connection: pg.Client): Promise<boolean> {
  const result = await connection.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
    MIGRATION_LOCK,
  ]);
  return result.rows[0]?.locked === true;
}

/**
 * drizzle's record of the migrations applied (none for a new database): `drizzle.__drizzle_migrations`,
 * the schema and table its PostgreSQL migrator uses when given none.
 */
async function recordedMigrations(connection: pg.Client): Promise<RecordedMigration[]> {
  const table = await connection.query<{ found: boolean }>(
    "SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS found",
  );
  if (table.rows[0]?.found !== true) return [];
  const rows = await connection.query<{ hash: string; created_at: string | null }>(
    "SELECT hash, created_at::text AS created_at FROM drizzle.__drizzle_migrations",
  );
  return rows.rows.map((row) => ({ hash: row.hash, createdAt: Number(row.created_at) }));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e.message === "string" && e.message !== "" ? e.message : String(error);
  return typeof e.code === "string" ? `${message} (${e.code})` : message;
}
