import type { SqlClient } from "@pocket-ai/runtime";
import { type SQL, sql } from "drizzle-orm";

/**
 * Column lists with camelCase aliases, so a row reads the same from either dialect (double-quoted
 * aliases keep their case in PostgreSQL and SQLite alike).
 */
export const APPLICATION_COLUMNS = sql.raw(
  `id, name, operator, address, status, created_at as "createdAt", disabled_at as "disabledAt",
  organic_checks as "organicChecks"`,
);

export const API_KEY_COLUMNS = sql.raw(
  `id, application_id as "applicationId", name, prefix, hash, status, rpm, tpm,
   budget_micro_usd as "budgetMicroUsd", spent_micro_usd as "spentMicroUsd",
   reserved_micro_usd as "reservedMicroUsd", requests, tokens, created_at as "createdAt",
   revoked_at as "revokedAt", last_used_at as "lastUsedAt", role`,
);

/** The order rows were made in: SQLite's `rowid`, PostgreSQL's identity column `seq`. */
export const insertionOrder = (db: SqlClient): SQL => sql.raw(db.dialect === "sqlite" ? "rowid" : "seq");
