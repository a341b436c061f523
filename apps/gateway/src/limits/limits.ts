import { randomUUID } from "node:crypto";
import { spannedFn } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Clock, Context, Effect, Layer, Runtime, Schedule } from "effect";
import { ApiKeyNotFound, InvalidApiKey } from "../accounts/errors.js";
import { API_KEY_COLUMNS } from "../db/columns.js";
import { GatewayStore, type StorageError, storeCaller, storeRunner } from "../db/database.js";
import type { apiKeys } from "../db/schema.js";
import {
  closeUncharged,
  type LedgerRow,
  releaseAllReservations,
  releaseBudget,
  releaseStaleReservations,
  reserveBudget,
  settleBudget,
  windowUse,
} from "./budget-ledger.js";
import { BudgetExhausted, RateLimited } from "./errors.js";

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
  /**
   * For a key with a rate limit: its window right after this reservation, against its limits
   * (read in the reservation's own transaction, so the answer's rate headers cost no query).
   */
  readonly window?: KeyUsage["window"];
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

/** The first of `amounts` that is not a whole number ≥ 0, as a defect; `undefined` when all are. */
const notWhole = (amounts: Readonly<Record<string, number>>) => {
  for (const name in amounts) {
    const n = amounts[name] as number;
    if (!Number.isSafeInteger(n) || n < 0)
      return Effect.dieMessage(`${name} must be a whole number ≥ 0, got ${n}`);
  }
  return undefined;
};

/**
 * The least age at which the sweep takes a reservation still open for one a process left when it
 * died, and gives its hold back: the age it uses is {@link staleReservationMs}, at least this.
 */
export const STALE_RESERVATION_MS = 15 * 60_000;

/**
 * What a relay may take besides its attempts before it settles: the work around the dispatch, the
 * settlement's retries, a database slow to answer, and the clocks of replicas that differ.
 */
export const RELAY_SETTLE_MARGIN_MS = 5 * 60_000;

/**
 * The age at which an open reservation is taken for a crashed process's: past the longest relay
 * the configuration allows (see `longestRelayMs`) by {@link RELAY_SETTLE_MARGIN_MS}, and at least
 * {@link STALE_RESERVATION_MS}. A live relay's hold is then never given back while it runs; one
 * that outlives it all the same (another replica's longer timeouts) is still charged when it
 * settles (see `settleBudget`).
 */
export const staleReservationMs = (longestRelayMs: number): number =>
  Math.max(STALE_RESERVATION_MS, longestRelayMs + RELAY_SETTLE_MARGIN_MS);

/**
 * How the limits tell a crashed process's reservations from live relays': the gateway provides
 * {@link staleReservationMs} of its configuration; without it, {@link STALE_RESERVATION_MS}.
 */
export class LimitsSettings extends Context.Reference<LimitsSettings>()("gateway/LimitsSettings", {
  defaultValue: (): { readonly staleReservationMs: number } => ({ staleReservationMs: STALE_RESERVATION_MS }),
}) {
  static layer(settings: { readonly staleReservationMs: number }) {
    return Layer.succeed(LimitsSettings, settings);
  }
}

/** How often each replica sweeps stale reservations and rows that left the rate window. */
const SWEEP_EVERY = "60 seconds";

const make = Effect.gen(function* () {
  const store = yield* GatewayStore;
  const { staleReservationMs: staleAfter } = yield* LimitsSettings;
  const use = storeRunner(store);
  // The relay's own steps (reserve, settle): their transactions answer through callbacks.
  const call = storeCaller(store);
  /** Reservations this process took and has not ended yet (metrics, graceful shutdown). */
  const live = new Set<string>();
  // Read once: a `Clock` step per reservation is two fiber steps on the hot path.
  const clock = yield* Effect.clock;

  const startedAt = yield* Clock.currentTimeMillis;
  // A SQLite file has one gateway: every open hold is a crash's. PostgreSQL is shared by
  // replicas: only holds older than any relay can be are given back.
  const stale = yield* store.dialect === "sqlite"
    ? use("limits.releaseAll", releaseAllReservations)
    : Effect.map(
        use("limits.releaseStale", (db) => releaseStaleReservations(db, startedAt - staleAfter, startedAt)),
        (reservations) => ({ reservations, keys: undefined }),
      );
  if (stale.reservations > 0 || (stale.keys ?? 0) > 0) {
    yield* Effect.logWarning("released budget reservations left by a crash").pipe(
      Effect.annotateLogs(stale.keys === undefined ? { reservations: stale.reservations } : stale),
    );
  }
  const sweep = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    const released = yield* use("limits.sweep", (db) => releaseStaleReservations(db, now - staleAfter, now));
    if (released > 0) {
      yield* Effect.logWarning("released stale budget reservations").pipe(
        Effect.annotateLogs({ reservations: released, olderThanMs: staleAfter }),
      );
    }
  }).pipe(Effect.catchAll((e) => Effect.logWarning("reservation sweep failed", e)));
  yield* Effect.forkScoped(Effect.repeat(Effect.delay(sweep, SWEEP_EVERY), Schedule.forever));

  // Rare: a relay charged after the sweep gave its hold back. It ran past `staleAfter` of the
  // replica that swept, which the configuration does not allow unless replicas differ in it.
  const runtime = yield* Effect.runtime<never>();
  const settledLate = (keyId: string, chargedMicroUsd: number) =>
    Runtime.runFork(
      runtime,
      Effect.logWarning(
        "a relay settled after its budget hold was given back as stale; it was charged and recorded all the same (give every replica the same routing timeouts, retries and catalog)",
      ).pipe(Effect.annotateLogs({ code: "RELAY_SETTLED_AFTER_STALE_HOLD", keyId, chargedMicroUsd })),
    );

  /** Why a key's budget UPDATE matched no row: the key is gone or revoked, or its budget is spent. */
  const refusedReservation = Effect.fnUntraced(function* (keyId: string, costMicroUsd: number) {
    const row = yield* use("limits.keyStatus", (db) =>
      db.get<{ status: string }>(sql`select status from api_keys where id = ${keyId}`),
    );
    if (row?.status !== "active") return yield* new InvalidApiKey({ reason: "revoked or unknown" });
    return yield* new BudgetExhausted({ keyId, costMicroUsd });
  });

  /** The relay failed before any billable work: nothing is charged or counted. */
  const releaseSpanned = spannedFn(
    "Limits.release",
    Effect.fnUntraced(function* (reservation: Reservation) {
      if (!live.delete(reservation.id)) return;
      yield* use("limits.release", (db) =>
        releaseBudget(db, {
          id: reservation.id,
          keyId: reservation.keyId,
          reserved: reservation.costMicroUsd,
        }),
      );
    }),
  );

  return {
    /**
     * Holds back one relay's requests, tokens and cost before it is sent: the rate check, the
     * budget UPDATE and the window record are one database transaction (see `budget-ledger.ts`),
     * so concurrent reservations, on this replica or any other, never share the last slot.
     */
    reserve: spannedFn("Limits.reserve", (key: LimitedKey, amount: ReservationAmount) => {
      const ask = { requests: amount.requests ?? 1, tokens: amount.tokens };
      const invalid = notWhole({
        requests: ask.requests,
        tokens: ask.tokens,
        costMicroUsd: amount.costMicroUsd,
      });
      if (invalid !== undefined) return invalid;
      const now = clock.unsafeCurrentTimeMillis();
      const id = reservationId(now);
      // One step after the transaction, not a generator's: this runs for every relay.
      return Effect.flatMap(
        call("limits.reserve", (db) =>
          reserveBudget(db, {
            id,
            keyId: key.keyId,
            limits: { rpm: key.rpm, tpm: key.tpm },
            ask,
            cost: amount.costMicroUsd,
            now,
          }),
        ),
        (
          outcome,
        ): Effect.Effect<Reservation, InvalidApiKey | BudgetExhausted | RateLimited | StorageError> => {
          if (outcome === "no-budget") return refusedReservation(key.keyId, amount.costMicroUsd);
          if (!("outcome" in outcome)) return Effect.fail(new RateLimited({ keyId: key.keyId, ...outcome }));
          live.add(id);
          return Effect.succeed({
            id,
            keyId: key.keyId,
            ...ask,
            costMicroUsd: amount.costMicroUsd,
            createdAt: now,
            ...(outcome.window !== undefined && {
              window: { ...outcome.window, rpm: key.rpm, tpm: key.tpm },
            }),
          });
        },
      );
    }),

    /**
     * Charges the relay's actual cost and counts its actual tokens; the rest of the reservation is
     * given back. Settling or releasing twice does nothing the second time. Returns the charge.
     * With `ledger`, the relay's ledger row is written in the same transaction as the charge (see
     * `settleBudget`): call it BEFORE the client gets the answer, so a relay a client received is
     * always in the ledger, and charged exactly once, whenever the process dies — also when its
     * hold was given back as stale while it ran.
     */
    settle: spannedFn(
      "Limits.settle",
      (
        reservation: Reservation,
        actual: { readonly tokens: number; readonly costMicroUsd: number },
        ledger?: (charged: number) => LedgerRow,
      ): Effect.Effect<number, StorageError> => {
        const invalid = notWhole({ tokens: actual.tokens, costMicroUsd: actual.costMicroUsd });
        if (invalid !== undefined) return invalid;
        const now = clock.unsafeCurrentTimeMillis();
        if (!live.has(reservation.id)) return Effect.succeed(0);
        return Effect.map(
          call("limits.settle", (db) =>
            settleBudget(
              db,
              {
                id: reservation.id,
                keyId: reservation.keyId,
                reserved: reservation.costMicroUsd,
                reservedTokens: reservation.tokens,
                actual: actual.costMicroUsd,
                requests: reservation.requests,
                tokens: actual.tokens,
                now,
              },
              ledger,
              settledLate,
            ),
          ),
          (charged) => {
            // Only once the transaction committed: a failed write leaves the reservation to release.
            live.delete(reservation.id);
            return charged;
          },
        );
      },
    ),

    /**
     * The relay was refused after work the gateway did for it (an upload it decoded): nothing is
     * charged, but the request stays in the key's rate window (its tokens do not), so a key with a
     * requests-per-minute limit cannot have that work done for free more often than its limit.
     */
    countUncharged: spannedFn(
      "Limits.countUncharged",
      Effect.fnUntraced(function* (reservation: Reservation) {
        if (!live.has(reservation.id)) return;
        yield* use("limits.countUncharged", (db) =>
          closeUncharged(db, {
            id: reservation.id,
            keyId: reservation.keyId,
            reserved: reservation.costMicroUsd,
            reservedTokens: reservation.tokens,
          }),
        );
        // Only once the transaction committed: a failed write leaves the reservation to release.
        live.delete(reservation.id);
      }),
    ),

    /** Whether the reservation is still held: neither settled nor released (nor counted uncharged). */
    holds: (reservation: Reservation): boolean => live.has(reservation.id),

    /** The relay failed before any billable work: nothing is charged or counted. */
    release: (reservation: Reservation) =>
      // Settled (or released) already: nothing to give back, and no span for nothing.
      live.has(reservation.id) ? releaseSpanned(reservation) : Effect.void,

    usage: Effect.fn("Limits.usage")(function* (keyId: string) {
      const now = yield* Clock.currentTimeMillis;
      const { row, window } = yield* use("limits.usage", async (db) => {
        const row = await db.get<typeof apiKeys.$inferSelect>(
          sql`select ${API_KEY_COLUMNS} from api_keys where id = ${keyId}`,
        );
        return { row, window: row === undefined ? undefined : await windowUse(db, keyId, row, now) };
      });
      if (row === undefined || window === undefined) return yield* new ApiKeyNotFound({ keyId });
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
        window: { ...window, rpm: row.rpm, tpm: row.tpm },
      };
      return usage;
    }),

    /** Reservations not yet settled or released (for metrics and graceful shutdown). */
    inFlight: Effect.sync(() => live.size),
  };
});

/**
 * Rate limits (sliding 60 s windows) and budgets, both in the gateway's database so that every
 * replica shares them, reserved before each relay.
 */
export class Limits extends Context.Tag("gateway/Limits")<Limits, Effect.Effect.Success<typeof make>>() {
  static layer = Layer.scoped(Limits, make);
}

/**
 * A reservation's id: its time in milliseconds (12 hex digits) before a random UUID, so ids sort by
 * time. Each new one then lands on the last page of the reservations' primary key, which a group
 * commit writes once for all of its relays, instead of on a random page per relay; the UUID keeps
 * ids unique across the replicas that share a database.
 */
export function reservationId(now: number): string {
  return `res_${Math.max(0, Math.floor(now)).toString(16).padStart(12, "0")}${randomUUID()}`;
}
