import type { SqlClient, SqlQuery } from "./sql-client.js";

/** One statement a {@link SqlSteps} body asks for, and how its answer is read. */
export interface SqlStep {
  readonly kind: "all" | "get" | "run";
  readonly query: SqlQuery;
}

/**
 * Statements written once, run either way: a generator that yields each statement ({@link sqlAll},
 * {@link sqlGet}, {@link sqlRun} with `yield*`) and gets its answer back. SQLite runs it
 * synchronously, in the turn its transaction runs ({@link runStepsSync}: no promise, no microtask
 * per statement); PostgreSQL awaits each statement ({@link runSteps}). A body keeps no `await`, so
 * it cannot leave its SQLite transaction half-way (see STYLE.md: better-sqlite3 transactions are
 * synchronous).
 *
 * @example
 * ```ts
 * function* spend(keyId: string, cost: number): SqlSteps<boolean> {
 *   const key = yield* sqlGet<{ id: string }>(plainSql`update api_keys set spent = spent + ${cost}
 *     where id = ${keyId} returning id`);
 *   return key !== undefined;
 * }
 * ```
 */
export type SqlSteps<A> = Generator<SqlStep, A, unknown>;

/**
 * A call that answers through callbacks, exactly once: its result to `resolve`, or a thrown error
 * to `reject` (the shape of a Promise executor, so `new Promise(call)` makes it a promise).
 */
export type SqlCall<A> = (resolve: (a: A) => void, reject: (error: unknown) => void) => void;

/** Every row the statement returns. */
export function* sqlAll<T>(query: SqlQuery): SqlSteps<T[]> {
  return (yield { kind: "all", query }) as T[];
}

/** The first row, if any. */
export function* sqlGet<T>(query: SqlQuery): SqlSteps<T | undefined> {
  return (yield { kind: "get", query }) as T | undefined;
}

/** Runs a statement; how many rows it changed. */
export function* sqlRun(query: SqlQuery): SqlSteps<number> {
  return (yield { kind: "run", query }) as number;
}

/** A connection's statements answered at once (SQLite's). */
export interface SyncSql {
  all<T>(query: SqlQuery): T[];
  get<T>(query: SqlQuery): T | undefined;
  run(query: SqlQuery): number;
}

/** Runs `steps` to their end on a synchronous connection; a failed statement is thrown into the body. */
export function runStepsSync<A>(steps: SqlSteps<A>, db: SyncSql): A {
  let next = steps.next();
  while (!next.done) {
    const { kind, query } = next.value;
    let answer: unknown;
    try {
      answer = kind === "get" ? db.get(query) : kind === "run" ? db.run(query) : db.all(query);
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}

/** Runs `steps` on any {@link SqlClient}, a statement at a time. */
export async function runSteps<A>(steps: SqlSteps<A>, db: SqlClient): Promise<A> {
  let next = steps.next();
  while (!next.done) {
    const { kind, query } = next.value;
    let answer: unknown;
    try {
      answer = await (kind === "get" ? db.get(query) : kind === "run" ? db.run(query) : db.all(query));
    } catch (e) {
      next = steps.throw(e);
      continue;
    }
    next = steps.next(answer);
  }
  return next.value;
}
