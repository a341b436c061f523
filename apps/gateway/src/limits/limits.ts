import { eq } from "drizzle-orm";
import { Clock, Context, Effect, Layer } from "effect";
import { ApiKeyNotFound, InvalidApiKey } from "../accounts/errors.js";
import { Database, statementRunner } from "../db/database.js";
import { apiKeys } from "../db/schema.js";
import {
  type LedgerRow,
  releaseBudget,
  releaseStaleReservations,
  reserveBudget,
  settleBudget,
} from "./budget-ledger.js";
import { BudgetExhausted, RateLimited } from "./errors.js";
import { RateWindows } from "./rate-window.js";

/** What a reservation holds back until the relay ends: the most the relay may use. */
export interface ReservationAmount {
  readonly requests?: number;
  readonly tokens: number;
  readonly costMicroUsd: number;
}

/** The limits of the caller, as `Accounts.authenticate` returns them. */
export interface LimitedKey {
  readonly keyId: string;
  readonly rpm: number | null;
  readonly tpm: number | null;
}

export interface Reservation {
  readonly id: string;
  readonly keyId: string;
  readonly requests: number;
  readonly tokens: number;
  readonly costMicroUsd: number;
  readonly createdAt: number;
}

export interface KeyUsage {
  readonly keyId: string;
  readonly requests: number;
  readonly tokens: number;
  readonly spentMicroUsd: number;
  readonly reservedMicroUsd: number;
  readonly budgetMicroUsd: number | null;
  /** `null` when the key has no budget. */
  readonly remainingMicroUsd: number | null;
  readonly lastUsedAt: number | null;
  /** Requests and tokens in the current 60 s window, against the key's limits. */
  readonly window: {
    readonly requests: number;
    readonly tokens: number;
    readonly rpm: number | null;
    readonly tpm: number | null;
  };
}

const wholeAmount = (name: string, n: number) =>
  Number.isSafeInteger(n) && n >= 0
    ? Effect.void
    : Effect.dieMessage(`${name} must be a whole number ≥ 0, got ${n}`);

const make = Effect.gen(function* () {
  const { db } = yield* Database;
  const use = statementRunner(db);
  const windows = new RateWindows();
  const live = new Map<string, Reservation>();
  let sequence = 0;

  const stale = yield* use("limits.releaseStale", releaseStaleReservations);
  if (stale > 0) {
    yield* Effect.logWarning("released budget reservations left by a crash").pipe(
      Effect.annotateLogs({ keys: stale }),
    );
  }

  return {
    /**
     * Holds back one relay's requests, tokens and cost before it is sent. The rate check, the
     * budget UPDATE and the window record run in ONE synchronous block, with no await in it, so
     * no other request can interleave: concurrent reservations never share the last slot.
     */
    reserve: Effect.fn("Limits.reserve")(function* (key: LimitedKey, amount: ReservationAmount) {
      const ask = { requests: amount.requests ?? 1, tokens: amount.tokens };
      yield* wholeAmount("requests", ask.requests);
      yield* wholeAmount("tokens", ask.tokens);
      yield* wholeAmount("costMicroUsd", amount.costMicroUsd);
      const now = yield* Clock.currentTimeMillis;
      const outcome = yield* use("limits.reserve", () => {
        const refusal = windows.check(key.keyId, key, ask, now);
        if (refusal !== undefined) return refusal;
        if (!reserveBudget(db, key.keyId, amount.costMicroUsd)) return "no-budget" as const;
        const reservation: Reservation = {
          id: `res_${++sequence}`,
          keyId: key.keyId,
          ...ask,
          costMicroUsd: amount.costMicroUsd,
          createdAt: now,
        };
        windows.record(key.keyId, reservation.id, ask, now);
        live.set(reservation.id, reservation);
        return reservation;
      });
      if (outcome === "no-budget") {
        const row = yield* use("limits.keyStatus", () =>
          db.select({ status: apiKeys.status }).from(apiKeys).where(eq(apiKeys.id, key.keyId)).get(),
        );
        if (row?.status !== "active") return yield* new InvalidApiKey({ reason: "revoked or unknown" });
        return yield* new BudgetExhausted({ keyId: key.keyId, costMicroUsd: amount.costMicroUsd });
      }
      if ("limit" in outcome) return yield* new RateLimited({ keyId: key.keyId, ...outcome });
      return outcome;
    }),

    /**
     * Charges the relay's actual cost and counts its actual tokens; the rest of the reservation is
     * given back. Settling or releasing twice does nothing the second time. Returns the charge.
     * With `ledger`, the relay's ledger row is written in the same SQLite transaction as the
     * charge (see `settleBudget`): call it BEFORE the client gets the answer, so a relay a client
     * received is always in the ledger, and charged exactly once, whenever the process dies.
     */
    settle: Effect.fn("Limits.settle")(function* (
      reservation: Reservation,
      actual: { readonly tokens: number; readonly costMicroUsd: number },
      ledger?: (charged: number) => LedgerRow,
    ) {
      yield* wholeAmount("tokens", actual.tokens);
      yield* wholeAmount("costMicroUsd", actual.costMicroUsd);
      const now = yield* Clock.currentTimeMillis;
      return yield* use("limits.settle", () => {
        if (!live.has(reservation.id)) return 0;
        const charged = settleBudget(
          db,
          {
            keyId: reservation.keyId,
            reserved: reservation.costMicroUsd,
            actual: actual.costMicroUsd,
            requests: reservation.requests,
            tokens: actual.tokens,
            now,
          },
          ledger,
        );
        // Only once the transaction committed: a failed write leaves the reservation to release.
        live.delete(reservation.id);
        windows.settle(reservation.keyId, reservation.id, actual.tokens);
        return charged;
      });
    }),

    /** The relay failed before any billable work: nothing is charged or counted. */
    release: Effect.fn("Limits.release")(function* (reservation: Reservation) {
      yield* use("limits.release", () => {
        if (!live.delete(reservation.id)) return;
        windows.release(reservation.keyId, reservation.id);
        releaseBudget(db, reservation.keyId, reservation.costMicroUsd);
      });
    }),

    usage: Effect.fn("Limits.usage")(function* (keyId: string) {
      const row = yield* use("limits.usage", () =>
        db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).get(),
      );
      if (row === undefined) return yield* new ApiKeyNotFound({ keyId });
      const now = yield* Clock.currentTimeMillis;
      const budget = row.budgetMicroUsd;
      const usage: KeyUsage = {
        keyId,
        requests: row.requests,
        tokens: row.tokens,
        spentMicroUsd: row.spentMicroUsd,
        reservedMicroUsd: row.reservedMicroUsd,
        budgetMicroUsd: budget,
        remainingMicroUsd:
          budget === null ? null : Math.max(0, budget - row.spentMicroUsd - row.reservedMicroUsd),
        lastUsedAt: row.lastUsedAt,
        window: { ...windows.usage(keyId, now), rpm: row.rpm, tpm: row.tpm },
      };
      return usage;
    }),

    /** Reservations not yet settled or released (for metrics and graceful shutdown). */
    inFlight: Effect.sync(() => live.size),
  };
});

/** Rate limits (in memory, per 60 s window) and budgets (in SQLite), reserved before each relay. */
export class Limits extends Context.Tag("gateway/Limits")<Limits, Effect.Effect.Success<typeof make>>() {
  static layer = Layer.effect(Limits, make);
}
