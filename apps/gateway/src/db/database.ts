import { fileURLToPath } from "node:url";
import type { ErrorCode } from "@pocket-ai/protocol";
import { type OpenedDatabase, openSqlite } from "@pocket-ai/runtime";
import { Context, Data, Effect, Layer } from "effect";
import { gatewaySchema } from "./schema.js";

export type GatewaySchema = typeof gatewaySchema;
export type GatewayDb = OpenedDatabase<GatewaySchema>["db"];

/** The committed drizzle migrations, applied when the database layer starts. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** A SQL statement failed unexpectedly (disk full, corrupt file): a server error, never the caller's. */
export class StorageError extends Data.TaggedError("StorageError")<{
  readonly operation: string;
  readonly reason: string;
}> {
  readonly code: ErrorCode = "INTERNAL";
}

/**
 * The gateway's SQLite database (WAL, migrated on start, checkpointed and closed with its scope).
 * Statements are synchronous (better-sqlite3): run them inside {@link Database.use}.
 */
export class Database extends Context.Tag("gateway/Database")<Database, OpenedDatabase<GatewaySchema>>() {
  static layer(options: { readonly file: string }) {
    return Layer.scoped(
      Database,
      openSqlite({ file: options.file, schema: gatewaySchema, migrationsFolder: MIGRATIONS_FOLDER }),
    );
  }
}

/**
 * Binds a runner for synchronous statements: each call runs `f` at once (no await, so it is one
 * uninterrupted critical section) and turns a thrown SQLite error into a {@link StorageError}.
 */
export function statementRunner(db: GatewayDb) {
  return <A>(operation: string, f: (db: GatewayDb) => A): Effect.Effect<A, StorageError> =>
    Effect.try({ try: () => f(db), catch: (e) => new StorageError({ operation, reason: String(e) }) });
}
