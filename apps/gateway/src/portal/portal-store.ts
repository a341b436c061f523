import { createHash, randomBytes } from "node:crypto";
import { and, count, eq, gt, lt } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";
import { portalSessions, portalUsers } from "./portal-schema.js";

export type PortalUser = typeof portalUsers.$inferSelect;
export type PortalRole = PortalUser["role"];

/** SHA-256 (hex) of a session id: what the database keeps instead of the id. */
export const sessionIdHash = (sessionId: string) => createHash("sha256").update(sessionId).digest("hex");

/** A fresh session id: 256 random bits, base64url. */
export const newSessionId = () => randomBytes(32).toString("base64url");

/** The portal's tables, as synchronous statements (better-sqlite3). */
export function portalStore(db: GatewayDb) {
  return {
    userByEmail: (email: string) => db.select().from(portalUsers).where(eq(portalUsers.email, email)).get(),
    userById: (id: string) => db.select().from(portalUsers).where(eq(portalUsers.id, id)).get(),
    insertUser: (user: typeof portalUsers.$inferInsert) => db.insert(portalUsers).values(user).run(),
    setRole: (email: string, role: PortalRole) =>
      db.update(portalUsers).set({ role }).where(eq(portalUsers.email, email)).run().changes,
    setPasswordHash: (id: string, passwordHash: string) =>
      db.update(portalUsers).set({ passwordHash }).where(eq(portalUsers.id, id)).run(),
    touchLogin: (id: string, now: number) =>
      db.update(portalUsers).set({ lastLoginAt: now }).where(eq(portalUsers.id, id)).run(),
    /** Sign-ups from one network since `since`. */
    signupsFrom: (network: string, since: number) =>
      db
        .select({ n: count() })
        .from(portalUsers)
        .where(and(eq(portalUsers.signupNetwork, network), gt(portalUsers.createdAt, since)))
        .get()?.n ?? 0,
    signupsSince: (since: number) =>
      db.select({ n: count() }).from(portalUsers).where(gt(portalUsers.createdAt, since)).get()?.n ?? 0,
    countUsers: () => db.select({ n: count() }).from(portalUsers).get()?.n ?? 0,

    insertSession: (sessionId: string, userId: string, now: number, ttlMs: number) =>
      db
        .insert(portalSessions)
        .values({ idHash: sessionIdHash(sessionId), userId, createdAt: now, expiresAt: now + ttlMs })
        .run(),
    /** The user of a live session; expired ones are removed on the way. */
    sessionUser: (sessionId: string, now: number): PortalUser | undefined => {
      const session = db
        .select()
        .from(portalSessions)
        .where(eq(portalSessions.idHash, sessionIdHash(sessionId)))
        .get();
      if (session === undefined) return undefined;
      if (session.expiresAt <= now) {
        db.delete(portalSessions).where(eq(portalSessions.idHash, session.idHash)).run();
        return undefined;
      }
      return db.select().from(portalUsers).where(eq(portalUsers.id, session.userId)).get();
    },
    deleteSession: (sessionId: string) =>
      db
        .delete(portalSessions)
        .where(eq(portalSessions.idHash, sessionIdHash(sessionId)))
        .run(),
    deleteExpiredSessions: (now: number) =>
      db
        .delete(portalSessions)
        .where(lt(portalSessions.expiresAt, now + 1))
        .run().changes,
  };
}

export type PortalStore = ReturnType<typeof portalStore>;
