/**
 * What a failed database call may say in a log line or an operator's message: the driver's own
 * code and, for SQLite, its message. Never the error's own message as a whole: drizzle's
 * (`Failed query: … params: …`) quotes the statement and its parameters (keys, addresses), and
 * PostgreSQL's may quote a value (`invalid input syntax for type integer: "…"`).
 */

/** The driver's code of a failure: `SQLITE_BUSY`, a PostgreSQL SQLSTATE (`42P01`), a socket error (`ECONNREFUSED`). */
export function databaseErrorCode(e: unknown): string | undefined {
  return driverErrorOf(e)?.code;
}

/**
 * Whether a failed database call says the database cannot be used now — the server unreachable,
 * restarting or out of connections, the connection lost, a lock or a statement that timed out,
 * SQLite's file busy, full, unreadable or read-only — rather than that the app asked something
 * wrong of it (a missing table, a broken constraint, a bug). The first is an operator's outage a
 * caller retries; the second an internal error.
 */
export function databaseUnavailable(e: unknown): boolean {
  const code = databaseErrorCode(e);
  if (code !== undefined) {
    if (code.startsWith("SQLITE_"))
      return /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|NOMEM)/.test(code);
    if (/^E[A-Z]+$/.test(code)) return true;
    return code.startsWith("08") || UNAVAILABLE_SQLSTATES.has(code);
  }
  // The PostgreSQL driver says a connection was lost, or none came, with no code.
  for (let cause = e, depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (LOST_CONNECTION.test(cause.message)) return true;
    cause = cause.cause;
  }
  return false;
}

/**
 * SQLSTATEs of a database that cannot serve now (besides class 08, connection exceptions): the
 * server shutting down or starting (57P01-57P03), out of connections or resources (53xxx), a lock
 * wait or a statement that timed out (55P03, 57014), a transaction the server ended as idle (25P03).
 */
const UNAVAILABLE_SQLSTATES: ReadonlySet<string> = new Set([
  "57P01",
  "57P02",
  "57P03",
  "53000",
  "53100",
  "53200",
  "53300",
  "55P03",
  "57014",
  "25P03",
]);

const LOST_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/**
 * What the operator does about a SQLite failure, by its code (`SQLITE_CORRUPT`, …): the code alone
 * names the fault, not the fix, and a process that stops at start would otherwise be restarted into
 * the same failure by its supervisor without a word of what to change. `undefined` for a code that
 * tells no fix.
 */
export function sqliteRemedy(code: string): string | undefined {
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB")
    return "the file is damaged or is no SQLite database: restore it from a backup, or move it aside (with its -wal and -shm files) to start an empty one, which loses what it held";
  if (code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_CANTOPEN") || code === "SQLITE_PERM")
    return "make the file, its -wal and -shm files and its folder writable by the user this process runs as";
  if (code === "SQLITE_FULL") return "free space on the disk of the data folder";
  if (code.startsWith("SQLITE_IOERR"))
    return "check the disk of the data folder (full, failing, or mounted read-only)";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return "another process holds a write lock on the database file (a sqlite3 shell or a backup tool with a transaction open, or a second process on the same data folder): end it, then start again";
  return undefined;
}

/**
 * A failure's words (`describeThrown`'s) with what to do about it when they start with a SQLite
 * code that tells (see {@link sqliteRemedy}); as they are otherwise. For a failure that stops a
 * process at start, where the operator reads it.
 */
export function withDatabaseRemedy(reason: string): string {
  const code = /^SQLITE_[A-Z_]+/.exec(reason)?.[0];
  const remedy = code === undefined ? undefined : sqliteRemedy(code);
  return remedy === undefined ? reason : `${reason}; ${remedy}`;
}

/**
 * A database failure in words fit for a log: `SQLITE_READONLY: attempt to write a readonly
 * database` (SQLite's messages name tables and columns, never a bound value), `SQLSTATE 42P01`
 * (PostgreSQL), `ECONNREFUSED`, or, when no driver code is found, only the error's class name.
 */
export function describeDatabaseFailure(e: unknown): string {
  const driver = driverErrorOf(e);
  if (driver === undefined) return e instanceof Error ? e.name : typeof e;
  if (driver.code.startsWith("SQLITE_")) return `${driver.code}: ${firstLine(driver.message)}`;
  return /^[0-9A-Z]{5}$/.test(driver.code) ? `SQLSTATE ${driver.code}` : driver.code;
}

/**
 * Anything thrown, in words fit for a log line: a database failure as
 * {@link describeDatabaseFailure}; a query error that carries no driver code (drizzle's quotes its
 * statement and parameters) as its cause, or only as a failed query; anything else its class name
 * and the first line of its message (never a stack).
 */
export function describeThrown(e: unknown, depth = 0): string {
  if (driverErrorOf(e) !== undefined) return describeDatabaseFailure(e);
  if (quotesQuery(e)) {
    const cause = (e as { cause?: unknown }).cause;
    return cause === undefined || depth >= 4 ? "a database query failed" : describeThrown(cause, depth + 1);
  }
  if (e instanceof Error) {
    const line = firstLine(e.message);
    return line === "" ? e.name : `${e.name}: ${line}`;
  }
  return typeof e === "string" ? firstLine(e) : typeof e;
}

/** Whether an error's message may quote a statement: drizzle's query error (`Failed query: …`, `query`, `params`). */
function quotesQuery(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  if ("query" in e || "params" in e) return true;
  return e instanceof Error && e.message.startsWith("Failed query");
}

/** The error, or one of its causes (drizzle wraps the driver's), that carries a driver code. */
function driverErrorOf(e: unknown): { readonly code: string; readonly message: string } | undefined {
  for (let cause = e, depth = 0; typeof cause === "object" && cause !== null && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && /^SQLITE_[A-Z_]+$|^[0-9A-Z]{5}$|^E[A-Z]+$/.test(code))
      return { code, message: cause instanceof Error ? cause.message : "" };
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
