import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// ── accounts ─────────────────────────────────────────────────────────────────────────────────
// Applications (the portal's customers) and their API keys, with each key's limits and its
// persistent budget counters. Money is integer micro-USD.

/**
 * A customer of this portal. `address` is the `pokt1…` application address that sessions are
 * derived from (see `accounts/application-address.ts`); it is fixed at creation.
 */
export const applications = sqliteTable("applications", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  operator: text("operator"),
  address: text("address").notNull().unique(),
  status: text("status", { enum: ["active", "disabled"] }).notNull(),
  createdAt: integer("created_at").notNull(),
  disabledAt: integer("disabled_at"),
});

/**
 * An API key: only the SHA-256 of the secret is kept, with a short visible prefix so an operator
 * can tell keys apart. `spent` + `reserved` never exceed `budget`: every reservation is one
 * conditional UPDATE (see `limits/budget-ledger.ts`). `requests` and `tokens` count settled relays.
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    applicationId: text("application_id")
      .notNull()
      .references(() => applications.id),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    status: text("status", { enum: ["active", "revoked"] }).notNull(),
    rpm: integer("rpm"),
    tpm: integer("tpm"),
    budgetMicroUsd: integer("budget_micro_usd"),
    spentMicroUsd: integer("spent_micro_usd").notNull().default(0),
    reservedMicroUsd: integer("reserved_micro_usd").notNull().default(0),
    requests: integer("requests").notNull().default(0),
    tokens: integer("tokens").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
    lastUsedAt: integer("last_used_at"),
  },
  (t) => [
    index("api_keys_application").on(t.applicationId),
    check("api_keys_reserved_nonnegative", sql`${t.reservedMicroUsd} >= 0`),
  ],
);

export const gatewaySchema = { applications, apiKeys };
