import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import { Effect, Layer } from "effect";
import { inject } from "vitest";
import { GatewayStore, type StoreLocation } from "../../src/db/database.js";

/** The dialects a storage test runs on. */
export type StoreDialect = "sqlite" | "postgres";

/** The run's PostgreSQL server (see `postgres-global-setup.ts`), or null when it is not installed. */
export const postgresServerUrl = (): string | null => inject("postgresUrl");

/**
 * The dialects storage tests are parametrised over: SQLite always, PostgreSQL when the run has a
 * server (else the PostgreSQL cases are reported as skipped, with the setup's message).
 */
export const STORE_DIALECTS: readonly StoreDialect[] = ["sqlite", "postgres"];

/** `describe.skipIf` condition for a dialect's block. */
export const dialectMissing = (dialect: StoreDialect): boolean =>
  dialect === "postgres" && postgresServerUrl() === null;

/** A fresh location: a SQLite file in a temp folder, or a new database on the run's PostgreSQL server. */
export const freshLocation = (dialect: StoreDialect) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<{ location: StoreLocation; dir?: string }> => {
      if (dialect === "sqlite") {
        const dir = mkdtempSync(join(tmpdir(), "pocket-gateway-"));
        return { location: { file: join(dir, "gateway.sqlite") }, dir };
      }
      const server = postgresServerUrl();
      if (server === null) throw new Error("no PostgreSQL server in this run");
      return { location: { url: await createTestDatabase(server), poolSize: 20 } };
    }),
    ({ dir }) => Effect.sync(() => dir !== undefined && rmSync(dir, { recursive: true, force: true })),
  );

/** For tests: a fresh store of the dialect, removed (SQLite) when the layer's scope closes. */
export const tempStore = (dialect: StoreDialect) =>
  Layer.unwrapScoped(Effect.map(freshLocation(dialect), ({ location }) => GatewayStore.layer(location)));

/** For tests: a real SQLite file in a fresh temp folder, removed when the layer's scope closes. */
export const TempDatabase = tempStore("sqlite");
