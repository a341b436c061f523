import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// ── portal ───────────────────────────────────────────────────────────────────────────────────
// Web accounts of the portal: each customer account owns one application (see `applications`),
// so its keys, limits and usage are the gateway's own. Passwords are scrypt hashes; sessions are
// stored by the SHA-256 of their random id, so a copy of the database opens no session.

export const portalUsers = sqliteTable(
  "portal_users",
  {
    id: text("id").primaryKey(),
    /** Lower-cased. */
    email: text("email").notNull().unique(),
    /** `scrypt$logN$r$p$salt$hash` (base64url). */
    passwordHash: text("password_hash").notNull(),
    role: text("role", { enum: ["customer", "admin"] })
      .notNull()
      .default("customer"),
    applicationId: text("application_id").notNull(),
    /** Keyed hash of the network it signed up from: sign-up limits count by it, no address is kept. */
    signupNetwork: text("signup_network").notNull(),
    createdAt: integer("created_at").notNull(),
    lastLoginAt: integer("last_login_at"),
  },
  (t) => [
    index("portal_users_signup").on(t.signupNetwork, t.createdAt),
    index("portal_users_created").on(t.createdAt),
  ],
);

export const portalSessions = sqliteTable(
  "portal_sessions",
  {
    /** SHA-256 (hex) of the session id the cookie carries. */
    idHash: text("id_hash").primaryKey(),
    userId: text("user_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("portal_sessions_user").on(t.userId)],
);

/**
 * Failed log-ins in the last window, shared by every replica: one row per failure and subject
 * (`n:` a network's keyed tag, `e:` an address), the subject kept only as its SHA-256. Rows older
 * than the window are deleted as new ones arrive.
 */
export const portalLoginFailures = sqliteTable(
  "portal_login_failures",
  {
    /** SHA-256 (hex) of the subject. */
    subject: text("subject").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [
    index("portal_login_failures_subject").on(t.subject, t.at),
    index("portal_login_failures_at").on(t.at),
  ],
);

/**
 * Key budget the portal granted its customers in the last 24 hours, shared by every replica: one
 * row per grant (a new key's budget, what a raise added) and its time, counted against
 * `portal.keys.selfServeUsdPerDay`. The operator's own grants (CLI, admin API) are not here. Rows
 * older than the window are deleted as new ones arrive.
 */
export const portalBudgetGrants = sqliteTable(
  "portal_budget_grants",
  {
    at: integer("at").notNull(),
    microUsd: integer("micro_usd").notNull(),
  },
  (t) => [index("portal_budget_grants_at").on(t.at)],
);

export const portalSchema = { portalUsers, portalSessions, portalLoginFailures, portalBudgetGrants };
