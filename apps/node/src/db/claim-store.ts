import { and, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { Effect } from "effect";
import { type NodeStoreError, storeWrite } from "./node-store-error.js";
import type { NodeDb } from "./relay-store.js";
import { claims } from "./schema.js";

export type ClaimRow = typeof claims.$inferSelect;

/** The node's claims, one per (session, gateway); the row is the state machine that survives restarts. */
export class ClaimStore {
  constructor(private readonly db: NodeDb) {}

  insertBuilt(
    row: Omit<
      ClaimRow,
      | "status"
      | "attempts"
      | "windowRefusals"
      | "proofSeed"
      | "lastError"
      | "mintedUpokt"
      | "claimReceipt"
      | "proofReceipt"
    >,
  ): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record built claim", () => {
      this.db
        .insert(claims)
        .values({ ...row, status: "built", attempts: 0, windowRefusals: 0 })
        .onConflictDoNothing()
        .run();
    });
  }

  /** Claims whose next step (submit or prove) is due. */
  due(now: number): ClaimRow[] {
    return this.db
      .select()
      .from(claims)
      .where(and(inArray(claims.status, ["built", "claimed"]), lte(claims.nextAttemptAt, now)))
      .all();
  }

  claimed(
    sessionId: string,
    gatewayAddress: string,
    proofSeed: string,
    /** The gateway's signed `ClaimAck`, checked (JSON). */
    receipt: string,
    now: number,
  ): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record accepted claim", () => {
      this.db
        .update(claims)
        .set({
          status: "claimed",
          proofSeed,
          claimReceipt: receipt,
          attempts: 0,
          nextAttemptAt: now,
          lastError: null,
          updatedAt: now,
        })
        .where(and(eq(claims.sessionId, sessionId), eq(claims.gatewayAddress, gatewayAddress)))
        .run();
    });
  }

  settled(
    sessionId: string,
    gatewayAddress: string,
    status: "proven" | "rejected",
    mintedUpokt: string,
    detail: string | null,
    /** The gateway's signed `ProofAck`, checked (JSON); null when the claim itself was refused. */
    receipt: string | null,
    now: number,
  ): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record settled claim", () => {
      this.db
        .update(claims)
        .set({ status, mintedUpokt, lastError: detail, proofReceipt: receipt, updatedAt: now })
        .where(and(eq(claims.sessionId, sessionId), eq(claims.gatewayAddress, gatewayAddress)))
        .run();
    });
  }

  failed(
    sessionId: string,
    gatewayAddress: string,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    now: number,
    /** The claim's CLAIM_WINDOW_CLOSED answers so far, when this attempt got one more. */
    windowRefusals?: number,
  ): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record failed claim attempt", () => {
      this.db
        .update(claims)
        .set({
          attempts,
          nextAttemptAt,
          lastError: error.slice(0, 500),
          updatedAt: now,
          ...(windowRefusals === undefined ? {} : { windowRefusals }),
        })
        .where(and(eq(claims.sessionId, sessionId), eq(claims.gatewayAddress, gatewayAddress)))
        .run();
    });
  }

  /**
   * Takes a claim its gateway no longer holds back to `built`, so it is submitted again (its seed
   * and receipt, which that gateway no longer knows, are dropped); `attempts` keeps counting, so a
   * gateway that keeps losing it is asked ever less often.
   */
  reclaim(
    sessionId: string,
    gatewayAddress: string,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    now: number,
  ): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record claim to send again", () => {
      this.db
        .update(claims)
        .set({
          status: "built",
          proofSeed: null,
          claimReceipt: null,
          attempts,
          nextAttemptAt,
          lastError: error.slice(0, 500),
          updatedAt: now,
        })
        .where(
          and(
            eq(claims.sessionId, sessionId),
            eq(claims.gatewayAddress, gatewayAddress),
            inArray(claims.status, ["built", "claimed"]),
          ),
        )
        .run();
    });
  }

  /**
   * Makes the waiting claims (built or claimed) of `gatewayAddresses` whose last error starts with
   * `errorPrefix` due at `now`; returns how many.
   */
  dueAgain(
    gatewayAddresses: readonly string[],
    errorPrefix: string,
    now: number,
  ): Effect.Effect<number, NodeStoreError> {
    return storeWrite("resume waiting claims", () => {
      if (gatewayAddresses.length === 0) return 0;
      return this.db
        .update(claims)
        .set({ nextAttemptAt: now, updatedAt: now })
        .where(
          and(
            inArray(claims.status, ["built", "claimed"]),
            inArray(claims.gatewayAddress, [...gatewayAddresses]),
            gt(claims.nextAttemptAt, now),
            sql`substr(${claims.lastError}, 1, ${errorPrefix.length}) = ${errorPrefix}`,
          ),
        )
        .run().changes;
    });
  }

  all(): ClaimRow[] {
    return this.db.select().from(claims).all();
  }
}
