import type { Client, Pool, PoolClient } from "pg";

/** How long a PostgreSQL statement, or a transaction from BEGIN to COMMIT, may take by default. */
export const DEFAULT_POSTGRES_QUERY_TIMEOUT_MS = 60_000;

/**
 * How long a start may take by default to take the migration lock and apply the migrations: long
 * enough for a migration that rewrites a large table, or for a replica starting beside another
 * that migrates, bounded so that a server which stopped answering ends the start with an error.
 */
export const DEFAULT_POSTGRES_MIGRATE_TIMEOUT_MS = 600_000;

/** What a deadline bounds: one statement, one transaction, or a start's lock and migrations. */
export type DeadlineWork = "statement" | "transaction" | "migration";

const WHAT: Record<DeadlineWork, string> = {
  statement: "a statement",
  transaction: "a transaction",
  migration: "taking the migration lock and applying the migrations",
};

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * PostgreSQL gave no answer to a statement, or did not finish a transaction, within the client's
 * deadline: the server stopped answering (a network partition, a frozen host) or is far too slow.
 * The connection was closed, so whether the last statement took effect is unknown, as for any lost
 * connection; a transaction not committed is rolled back by the server when it sees the close.
 * Its code, `ETIMEDOUT`, makes it a database that cannot be used now (`databaseUnavailable`).
 */
export class PostgresTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(
    readonly what: DeadlineWork,
    readonly timeoutMs: number,
  ) {
    super(`PostgreSQL did not finish ${WHAT[what]} within ${timeoutMs} ms; its connection was closed`);
    this.name = "PostgresTimeoutError";
  }
}

/**
 * A connection from the pool, with `onError` listening from the moment the pool hands it out (in
 * its callback, not after an `await`): the server may end it in the very packet that made it
 * ready, and an `error` event with no listener would end the process.
 */
export function takeConnection(pool: Pool, onError: (e: Error) => void): Promise<PoolClient> {
  return new Promise<PoolClient>((resolve, reject) => {
    pool.connect((error, client) => {
      if (error || client === undefined) return reject(error ?? new Error("no connection"));
      client.on("error", onError);
      resolve(client);
    });
  });
}

/**
 * `work` on `connection`, or a {@link PostgresTimeoutError} once `timeoutMs` has passed. Then the
 * connection's socket is closed at once: a server that stopped answering without closing anything
 * would otherwise hold the call, its pool connection and its transaction's locks for as long as the
 * kernel keeps the socket (TCP keeps resending an unanswered statement for a quarter of an hour).
 * `onTimeout` is told first, so the caller releases the connection as broken and the pool opens a
 * new one; `work`'s own later outcome is ignored.
 */
export function withinDeadline<A>(
  connection: Client,
  what: DeadlineWork,
  timeoutMs: number,
  work: Promise<A>,
  onTimeout: (e: PostgresTimeoutError) => void,
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    // Past 2^31-1 ms a timer fires at once: a longer deadline is as good as none.
    const timer = setTimeout(
      () => {
        const error = new PostgresTimeoutError(what, timeoutMs);
        onTimeout(error);
        closeSocket(connection);
        reject(error);
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Closes a connection's socket now. `pg` has no public way: `end()` waits for the server to
 * acknowledge when no statement runs, and this one does not answer. The pool closes a connection
 * that does not connect in time the same way.
 */
function closeSocket(connection: Client): void {
  (connection as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
