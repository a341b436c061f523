import { createHash, randomBytes } from "node:crypto";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import type { portalUsers } from "./portal-schema.js";

export type PortalUser = typeof portalUsers.$inferSelect;
export type PortalRole = PortalUser["role"];

/** SHA-256 (hex) of a session id: what the database keeps instead of the id. */
export const sessionIdHash = (sessionId: string) => createHash("sha256").update(sessionId).digest("hex");

/** What the failure table keeps of a log-in subject (an address or a network's tag). */
const subjectHash = (subject: string) => createHash("sha256").update(subject).digest("hex");

/** A fresh session id: 256 random bits, base64url. */
export const newSessionId = () => randomBytes(32).toString("base64url");

const USER_COLUMNS = sql.raw(`id, email, password_hash as "passwordHash", role,
  application_id as "applicationId", signup_network as "signupNetwork", created_at as "createdAt",
  last_login_at as "lastLoginAt"`);

const countOf = async (db: SqlClient, query: ReturnType<typeof sql>) =>
  Number((await db.get<{ n: number }>(query))?.n ?? 0);

/** The portal's tables (accounts and sessions), shared by every replica on the database. */
export function portalStore(db: SqlClient) {
  const userById = (id: string) =>
    db.get<PortalUser>(sql`select ${USER_COLUMNS} from portal_users where id = ${id}`);
  return {
    userByEmail: (email: string) =>
      db.get<PortalUser>(sql`select ${USER_COLUMNS} from portal_users where email = ${email}`),
    userById,
    insertUser: (u: PortalUser) =>
      db.run(sql`insert into portal_users
        (id, email, password_hash, role, application_id, signup_network, created_at, last_login_at)
        values (${u.id}, ${u.email}, ${u.passwordHash}, ${u.role}, ${u.applicationId}, ${u.signupNetwork},
          ${u.createdAt}, ${u.lastLoginAt})`),
    setRole: (email: string, role: PortalRole) =>
      db.run(sql`update portal_users set role = ${role} where email = ${email}`),
    /**
     * Replaces the password hash only while it is still `expected` (the one just checked): a
     * password changed meanwhile is never overwritten by an older one. Whether it was replaced.
     */
    replacePasswordHash: async (id: string, expected: string, passwordHash: string) =>
      (await db.run(sql`update portal_users set password_hash = ${passwordHash}
        where id = ${id} and password_hash = ${expected}`)) === 1,
    /**
     * Sets a new password and ends every session of the account, opening `sessionId` in their
     * place, in one transaction, while the stored hash is still `expected` (the one the current
     * password was checked against). Whether it changed: `false` when the password changed meanwhile.
     */
    changePassword: (
      change: { userId: string; expected: string; passwordHash: string; sessionId: string },
      now: number,
      ttlMs: number,
    ) =>
      db.transaction(async (tx) => {
        const changed = await tx.run(sql`update portal_users set password_hash = ${change.passwordHash}
          where id = ${change.userId} and password_hash = ${change.expected}`);
        if (changed !== 1) return false;
        await tx.run(sql`delete from portal_sessions where user_id = ${change.userId}`);
        await tx.run(sql`insert into portal_sessions (id_hash, user_id, created_at, expires_at)
          values (${sessionIdHash(change.sessionId)}, ${change.userId}, ${now}, ${now + ttlMs})`);
        return true;
      }),
    touchLogin: (id: string, now: number) =>
      db.run(sql`update portal_users set last_login_at = ${now} where id = ${id}`),
    /** Sign-ups from one network since `since`. */
    signupsFrom: (network: string, since: number) =>
      countOf(
        db,
        sql`select cast(count(*) as bigint) as "n" from portal_users
          where signup_network = ${network} and created_at > ${since}`,
      ),
    signupsSince: (since: number) =>
      countOf(db, sql`select cast(count(*) as bigint) as "n" from portal_users where created_at > ${since}`),
    countUsers: () => countOf(db, sql`select cast(count(*) as bigint) as "n" from portal_users`),

    /**
     * Opens a session only while the user's password hash is still `passwordHash` (the one the
     * log-in checked): a log-in with the old password that a password change overtakes opens
     * nothing. On PostgreSQL the user's row is share-locked, so the change waits for this insert
     * (and then ends the session) or this check waits for the change (and finds the new hash).
     * Whether it opened.
     */
    insertSession: (sessionId: string, userId: string, passwordHash: string, now: number, ttlMs: number) =>
      db.transaction(async (tx) => {
        const lock = tx.dialect === "postgres" ? sql` for share` : sql``;
        const current = await tx.get(sql`select id from portal_users
          where id = ${userId} and password_hash = ${passwordHash}${lock}`);
        if (current === undefined) return false;
        await tx.run(sql`insert into portal_sessions (id_hash, user_id, created_at, expires_at)
          values (${sessionIdHash(sessionId)}, ${userId}, ${now}, ${now + ttlMs})`);
        return true;
      }),
    /** The user of a live session; expired ones are removed on the way. */
    sessionUser: async (sessionId: string, now: number): Promise<PortalUser | undefined> => {
      const session = await db.get<{ idHash: string; userId: string; expiresAt: number }>(sql`
        select id_hash as "idHash", user_id as "userId", expires_at as "expiresAt"
        from portal_sessions where id_hash = ${sessionIdHash(sessionId)}`);
      if (session === undefined) return undefined;
      if (session.expiresAt <= now) {
        await db.run(sql`delete from portal_sessions where id_hash = ${session.idHash}`);
        return undefined;
      }
      return userById(session.userId);
    },
    deleteSession: (sessionId: string) =>
      db.run(sql`delete from portal_sessions where id_hash = ${sessionIdHash(sessionId)}`),
    /** Ends every session of the user but `keepSessionId`; how many it ended. */
    deleteOtherSessions: (userId: string, keepSessionId: string) =>
      db.run(sql`delete from portal_sessions
        where user_id = ${userId} and id_hash <> ${sessionIdHash(keepSessionId)}`),
    /** The user's live sessions other than `sessionId`. */
    otherSessions: (userId: string, sessionId: string, now: number) =>
      countOf(
        db,
        sql`select cast(count(*) as bigint) as "n" from portal_sessions
          where user_id = ${userId} and id_hash <> ${sessionIdHash(sessionId)} and expires_at > ${now}`,
      ),
    /** Failed log-ins of a subject (`n:<network>` or `e:<email>`) after `since`. */
    loginFailures: (subject: string, since: number) =>
      countOf(
        db,
        sql`select cast(count(*) as bigint) as "n" from portal_login_failures
          where subject = ${subjectHash(subject)} and at > ${since}`,
      ),
    /** Records one failure for each subject and forgets every failure at or before `forgetBefore`. */
    recordLoginFailure: (subjects: readonly string[], now: number, forgetBefore: number) =>
      db.transaction(async (tx) => {
        await tx.run(sql`delete from portal_login_failures where at <= ${forgetBefore}`);
        for (const subject of subjects)
          await tx.run(
            sql`insert into portal_login_failures (subject, at) values (${subjectHash(subject)}, ${now})`,
          );
      }),
    clearLoginFailures: (subject: string) =>
      db.run(sql`delete from portal_login_failures where subject = ${subjectHash(subject)}`),
    deleteExpiredSessions: (now: number) =>
      db.run(sql`delete from portal_sessions where expires_at < ${now + 1}`),
  };
}

export type PortalStore = ReturnType<typeof portalStore>;
