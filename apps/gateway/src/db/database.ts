import type { ErrorCode } from "@pocket-ai/protocol";
import {
  databaseUnavailable,
  describeThrown,
  openPostgres,
  openSqlite,
  packageFile,
  type SqlCall,
  type SqlClient,
  type StartCode,
  sqliteClient,
} from "@pocket-ai/runtime";
import { Context, Data, Effect, Layer } from "effect";
import { gatewaySchema } from "./schema.js";

/** The committed SQLite migrations, applied when the store starts. */
export const MIGRATIONS_FOLDER = packageFile(import.meta.url, "@pocket-ai/gateway", "drizzle");
/** The committed PostgreSQL migrations (the same tables, PostgreSQL's types). */
export const PG_MIGRATIONS_FOLDER = packageFile(import.meta.url, "@pocket-ai/gateway", "drizzle/pg");

/**
 * A SQL statement failed (disk full, server gone, a bug): a server error, never the caller's.
 * `reason` is the driver's code and, for SQLite, its message (see `describeThrown`), never
 * the statement or its parameters: it is logged and printed at start. `unavailable` when the
 * database cannot be used now (see `databaseUnavailable`): every API then answers
 * `DATABASE_UNAVAILABLE`, which callers retry; anything else is `INTERNAL`, logged under an id.
 */
export class StorageError extends Data.TaggedError("StorageError")<{
  readonly operation: string;
  readonly reason: string;
  readonly unavailable?: boolean;
}> {
  get code(): Extract<ErrorCode, "INTERNAL" | "DATABASE_UNAVAILABLE"> {
    return this.unavailable === true ? "DATABASE_UNAVAILABLE" : "INTERNAL";
  }
  /** For the operator's log only: its message stays empty, so callers get the code's own words. */
  get logText(): string {
    return `${this.operation}: ${this.reason}`;
  }
}

/**
 * The gateway's database could not be opened at start (bad URL, server unreachable, bad file), or
 * a newer release migrated it (`DATABASE_NEWER_THAN_APP`).
 */
export class StoreOpenError extends Data.TaggedError("StoreOpenError")<{
  readonly code: Extract<StartCode, "INVALID_CONFIG" | "DATABASE_UNAVAILABLE" | "DATABASE_NEWER_THAN_APP">;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.code}: ${this.reason}`;
  }
}

/** Where the gateway keeps its state: one SQLite file (default), or a PostgreSQL database shared by replicas. */
export type StoreLocation =
  | { readonly file: string }
  | {
      readonly url: string;
      readonly poolSize?: number | undefined;
      readonly queryTimeoutMs?: number | undefined;
      readonly migrateTimeoutMs?: number | undefined;
    };

/**
 * The gateway's storage: every table (accounts, budgets and rate windows, relay ledger, nodes,
 * claims, rates, portal accounts) behind one asynchronous {@link SqlClient}. SQLite (WAL,
 * checkpointed and closed with its scope) for one process; PostgreSQL (a pool) for replicas that
 * behave as one gateway. Migrated on start; the queries are the same on both.
 */
export class GatewayStore extends Context.Tag("gateway/GatewayStore")<GatewayStore, SqlClient>() {
  static layer(location: StoreLocation): Layer.Layer<GatewayStore, StoreOpenError> {
    if ("url" in location) {
      return Layer.scoped(
        GatewayStore,
        openPostgres({
          url: location.url,
          migrationsFolder: PG_MIGRATIONS_FOLDER,
          ...(location.poolSize === undefined ? {} : { poolSize: location.poolSize }),
          ...(location.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: location.queryTimeoutMs }),
          ...(location.migrateTimeoutMs === undefined ? {} : { migrateTimeoutMs: location.migrateTimeoutMs }),
        }).pipe(
          Effect.map((opened) => opened.client),
          Effect.mapError((e) => new StoreOpenError({ code: e.code, reason: e.reason })),
        ),
      );
    }
    return Layer.scoped(
      GatewayStore,
      openSqlite({ file: location.file, schema: gatewaySchema, migrationsFolder: MIGRATIONS_FOLDER }).pipe(
        Effect.map(({ sqlite }) => sqliteClient(sqlite)),
        Effect.mapError((e) =>
          e._tag === "DatabaseNewerThanAppError"
            ? new StoreOpenError({ code: e.code, reason: e.reason })
            : new StoreOpenError({
                code: "DATABASE_UNAVAILABLE",
                reason: `Cannot open the database ${e.file}: ${e.reason}; check the data folder`,
              }),
        ),
      ),
    );
  }
}

/** A statement runner: runs `f` on the store and turns a thrown SQL error into a {@link StorageError}. */
export type StoreRunner = <A>(
  operation: string,
  f: (db: SqlClient) => Promise<A>,
) => Effect.Effect<A, StorageError>;

const storageError = (operation: string, e: unknown) =>
  new StorageError({ operation, reason: describeThrown(e), unavailable: databaseUnavailable(e) });

export function storeRunner(db: SqlClient): StoreRunner {
  return (operation, f) => Effect.tryPromise({ try: () => f(db), catch: (e) => storageError(operation, e) });
}

/**
 * A {@link StoreRunner} for calls that answer through callbacks (see `SqlCall`, e.g. a transaction
 * of `SqlSteps`): the fiber resumes once, from the callback, with no promise in between.
 */
export type StoreCaller = <A>(
  operation: string,
  call: (db: SqlClient) => SqlCall<A>,
) => Effect.Effect<A, StorageError>;

export function storeCaller(db: SqlClient): StoreCaller {
  return <A>(operation: string, call: (db: SqlClient) => SqlCall<A>) =>
    Effect.async<A, StorageError>((resume) =>
      call(db)(
        (a) => resume(Effect.succeed(a)),
        (e) => resume(Effect.fail(storageError(operation, e))),
      ),
    );
}
