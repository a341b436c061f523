import type { NodeRelayClient } from "@pocket-ai/link";
import type { StreamCutReceipt } from "@pocket-ai/protocol";
import { type Counter, type Gauge, peerText, type SqlClient } from "@pocket-ai/runtime";
import { Clock, Context, Duration, Effect, Fiber, FiberSet, Layer, Queue } from "effect";
import {
  cutReceiptBacklog,
  type DueCutReceipt,
  deleteCutReceipt,
  dropLeasedCutReceipt,
  insertCutReceipt,
  type PendingCutReceipt,
  releaseCutReceiptLeases,
  rescheduleCutReceipt,
  takeDueCutReceipts,
} from "../db/cut-receipt-rows.js";
import { GatewayStore, type StorageError, storeRunner } from "../db/database.js";
import { NodeRegistry } from "../registry/node-registry.js";
import { RoutingMetrics } from "../routing/routing-metrics.js";
import {
  cutReceiptLeaseMs,
  cutReceiptPollEvery,
  cutReceiptRetryDelayMs,
  cutReceiptUnknownPatienceMs,
} from "../routing/schedules.js";
import { type CutReceiptAnswer, offerCutReceipt } from "./cut-receipt.js";
import { NodeClients } from "./node-client.js";

/** Receipts one pass takes at most (a pass that took this many asks for another at once). */
const PASS_BATCH = 100;
/** Deliveries one pass runs at once. */
const PASS_CONCURRENCY = 16;
/** How long the outbox waits, when the gateway stops, for the deliveries on their way. */
const CLOSE_DRAIN = Duration.seconds(3);

/** What the outbox reads and writes, and whom it asks (see {@link makeCutReceiptDelivery}). */
export interface CutReceiptDeliveryDeps {
  readonly db: SqlClient;
  /** Where the node serves now (the registry's word); `undefined` for a node no longer known. */
  readonly endpointOf: (nodeAddress: string) => string | undefined;
  readonly clients: { readonly get: (endpoint: string) => NodeRelayClient };
  /** `pocket_gateway_cut_receipts_total`, by outcome. */
  readonly outcomes: Counter;
  /** `pocket_gateway_cut_receipts_pending`: receipts in the database after each pass. */
  readonly pending?: Gauge | undefined;
}

/** What one pass did: receipts it took, and how each delivery ended. */
export interface CutReceiptPass {
  readonly taken: number;
  readonly settled: number;
  readonly refused: number;
  /** Tried again later: the node did not answer for good. */
  readonly retried: number;
  readonly expired: number;
  /** Dropped: the node, reachable, still had no record of the relay long after (it never got it). */
  readonly unknown: number;
  /** Receipts left in the database after the pass (every replica's), waiting or on their way. */
  readonly pending: number;
  /**
   * When the earliest receipt left is due (a retry's time, or the end of a delivery's lease):
   * for the caller to look again then; `undefined` when none is left.
   */
  readonly nextDue: number | undefined;
}

/**
 * Delivers the receipts the database holds for streams the gateway cut (`cut_receipts`, written
 * with each stream's ledger row): a pass takes the receipts due, leasing them, and offers each to
 * its node. Settled or refused for good, a receipt is deleted; unanswered, it is due again after
 * `cutReceiptRetryDelayMs`; once its session's claim may be built (`expiresAt`) it can no longer
 * change the node's claim, and is deleted as `expired` and logged (`CUT_RECEIPT_EXPIRED`). Receipts
 * are idempotent on the node (the same leaf and weight again is answered `unchanged`), so a receipt
 * delivered twice — a lease that ran out mid-call, a process stopped after the node took it — does
 * no harm; the lease only keeps replicas from doing the same work.
 */
export function makeCutReceiptDelivery(deps: CutReceiptDeliveryDeps) {
  const use = storeRunner(deps.db);
  /** How one receipt's delivery ended. */
  type Delivered = "settled" | "refused" | "retried" | "expired" | "unknown";

  const settle = (
    due: DueCutReceipt,
    answer: CutReceiptAnswer,
    issuedAt: number,
  ): Effect.Effect<Delivered, StorageError> =>
    Effect.gen(function* () {
      if (answer.outcome === "retry") {
        const now = yield* Clock.currentTimeMillis;
        // Reachable, and still without a record of the relay long after: it never got the request.
        if (answer.code === "UNKNOWN_RELAY" && now - issuedAt >= cutReceiptUnknownPatienceMs) {
          const dropped = yield* use("cutReceipts.unknown", (db) => dropLeasedCutReceipt(db, due));
          if (dropped === 0) return "retried";
          deps.outcomes.inc({ outcome: "unknown" });
          yield* Effect.logInfo(
            "a node has no record of a relay this gateway sent a receipt for: it never got it",
          ).pipe(
            Effect.annotateLogs({
              node: due.nodeAddress,
              sessionId: due.sessionId,
              requestHash: due.requestHash,
            }),
          );
          return "unknown";
        }
        // Never past its expiry: the pass at that time drops it.
        const next = Math.min(now + cutReceiptRetryDelayMs(due.attempts + 1), due.expiresAt);
        yield* use("cutReceipts.reschedule", (db) => rescheduleCutReceipt(db, due, next));
        return "retried";
      }
      yield* use("cutReceipts.delete", (db) => deleteCutReceipt(db, due.requestHash));
      if (answer.outcome !== "refused") {
        deps.outcomes.inc({ outcome: answer.outcome });
        return "settled";
      }
      deps.outcomes.inc({ outcome: `refused_${answer.code}` });
      yield* Effect.logWarning(
        "a node refused a cut stream's receipt: its claim may hold a leaf this gateway did not record",
      ).pipe(
        Effect.annotateLogs({
          code: "CUT_RECEIPT_REFUSED",
          nodeCode: answer.code,
          // The node's own text, of any length: its beginning only.
          ...(answer.detail === undefined ? {} : { detail: peerText(answer.detail) }),
          node: due.nodeAddress,
          sessionId: due.sessionId,
          requestHash: due.requestHash,
        }),
      );
      return "refused";
    });

  const expire = (due: DueCutReceipt): Effect.Effect<Delivered, StorageError> =>
    Effect.gen(function* () {
      const dropped = yield* use("cutReceipts.expire", (db) => dropLeasedCutReceipt(db, due));
      // Another delivery took it meanwhile (its lease ran out): that one ends it.
      if (dropped === 0) return "retried";
      deps.outcomes.inc({ outcome: "expired" });
      yield* Effect.logWarning(
        "a cut stream's receipt expired undelivered: its node's claim of the session may hold a leaf this gateway did not record",
      ).pipe(
        Effect.annotateLogs({
          code: "CUT_RECEIPT_EXPIRED",
          node: due.nodeAddress,
          sessionId: due.sessionId,
          requestHash: due.requestHash,
          attempts: due.attempts,
        }),
      );
      return "expired";
    });

  const deliver = (due: DueCutReceipt, now: number): Effect.Effect<Delivered, StorageError> => {
    if (now >= due.expiresAt) return expire(due);
    const receipt = storedReceipt(due.receipt);
    const endpoint = deps.endpointOf(due.nodeAddress);
    const answer: Effect.Effect<CutReceiptAnswer> =
      receipt === undefined
        ? // What the node would answer it: no receipt at all.
          Effect.succeed({ outcome: "refused", code: "MALFORMED_ENVELOPE" })
        : endpoint === undefined
          ? Effect.succeed({ outcome: "retry", code: undefined })
          : offerCutReceipt(deps.clients.get(endpoint), receipt);
    return Effect.flatMap(answer, (a) => settle(due, a, receipt?.issuedAt ?? now));
  };

  /** Takes the receipts due now and delivers each; a failed database call ends the pass (the next one retries). */
  const pass: Effect.Effect<CutReceiptPass, StorageError> = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    const taken = yield* use("cutReceipts.take", (db) =>
      takeDueCutReceipts(db, now, now + cutReceiptLeaseMs, PASS_BATCH),
    );
    const ended = yield* Effect.forEach(taken, (due) => deliver(due, now), { concurrency: PASS_CONCURRENCY });
    const count = (outcome: Delivered) => ended.filter((e) => e === outcome).length;
    const { pending, nextDue } = yield* use("cutReceipts.backlog", cutReceiptBacklog);
    deps.pending?.set({}, pending);
    return {
      taken: taken.length,
      settled: count("settled"),
      refused: count("refused"),
      retried: count("retried"),
      expired: count("expired"),
      unknown: count("unknown"),
      pending,
      nextDue,
    };
  });

  /**
   * At start: where this process alone owns the database (SQLite), the receipts a stopped process
   * left leased or waiting are due at once; replicas on PostgreSQL leave other replicas' leases be.
   */
  const resume = Effect.gen(function* () {
    if (deps.db.dialect !== "sqlite") return;
    const now = yield* Clock.currentTimeMillis;
    yield* use("cutReceipts.resume", (db) => releaseCutReceiptLeases(db, now));
  });

  return { pass, resume };
}

/** A receipt as its row holds it (JSON this gateway wrote); `undefined` for a row that holds none. */
function storedReceipt(text: string): StreamCutReceipt | undefined {
  try {
    return JSON.parse(text) as StreamCutReceipt;
  } catch {
    return undefined;
  }
}

/**
 * Waits for `set`'s fibers to end, at most `CLOSE_DRAIN` of real time. A finalizer runs
 * uninterruptibly, and a timeout there could not stop what it waits for: the wait itself is made
 * interruptible, and it runs on the wall clock even where the outbox's own clock is another (a
 * test's, which only moves when told).
 */
const drained = (set: FiberSet.FiberSet<void, never>) =>
  FiberSet.awaitEmpty(set).pipe(
    Effect.interruptible,
    Effect.timeout(CLOSE_DRAIN),
    Effect.ignore,
    Effect.withClock(Clock.make()),
  );

/**
 * The outbox of cut streams' receipts, delivered from the database while the gateway runs: at
 * start (what a stopped process left), right after a receipt's row commits (`deliverNow`), when a
 * retry comes due, and every `cutReceiptPollEvery` (what other replicas left). When the gateway
 * stops, it makes one last pass and waits a few seconds for the deliveries on their way; whatever
 * is left stays in the database for the next start, or another replica.
 */
export class CutReceiptOutbox extends Context.Tag("gateway/CutReceiptOutbox")<
  CutReceiptOutbox,
  {
    /** A stream's ledger row and its receipt committed: look for receipts due now. */
    readonly deliverNow: () => void;
    /**
     * A receipt with no ledger row of its own (a unary attempt given up on, see
     * `abandonedAttempt`): written in the background, then delivered like any other.
     */
    readonly write: (pending: PendingCutReceipt) => void;
    /** One pass now (tests, and the last one at close). */
    readonly pass: Effect.Effect<CutReceiptPass, StorageError>;
  }
>() {
  static readonly layer = Layer.scoped(
    CutReceiptOutbox,
    Effect.gen(function* () {
      const registry = yield* NodeRegistry;
      const db = yield* GatewayStore;
      const metrics = yield* RoutingMetrics;
      const delivery = makeCutReceiptDelivery({
        db,
        endpointOf: (address) => registry.get(address)?.endpoint,
        clients: yield* NodeClients,
        outcomes: metrics.cutReceipts,
        pending: metrics.cutReceiptsPending,
      });
      const wake = yield* Queue.sliding<void>(1);
      const deliverNow = () => {
        Queue.unsafeOffer(wake, undefined);
      };
      const timers = yield* FiberSet.make<void, never>();
      const passes = yield* FiberSet.make<void, never>();
      const writing = yield* FiberSet.make<void, never>();
      const writes = yield* FiberSet.runtime(writing)<never>();
      const use = storeRunner(db);
      const write = (pending: PendingCutReceipt) => {
        writes(
          use("cutReceipts.write", (tx) => insertCutReceipt(tx, pending)).pipe(
            Effect.matchCauseEffect({
              onSuccess: () => Effect.sync(deliverNow),
              onFailure: (cause) => Effect.logWarning("writing a cut receipt failed", cause),
            }),
          ),
        );
      };
      // One alarm, at the earliest time a receipt is due: a later pass that finds an earlier one moves it.
      let alarm: { readonly at: number; readonly fiber: Fiber.RuntimeFiber<void, never> } | undefined;
      const wakeAt = (at: number) =>
        Effect.gen(function* () {
          if (alarm !== undefined && alarm.at <= at) return;
          const before = alarm;
          const wait = Math.max(0, at - (yield* Clock.currentTimeMillis));
          const fiber = yield* FiberSet.run(
            timers,
            Effect.delay(
              Effect.sync(() => {
                if (alarm?.at === at) alarm = undefined;
                deliverNow();
              }),
              wait,
            ),
          );
          alarm = { at, fiber };
          if (before !== undefined) yield* Fiber.interrupt(before.fiber);
        });
      // A pass that failed (the database) is logged; the next one tries again.
      const onePass = delivery.pass.pipe(
        Effect.flatMap((done) => {
          if (done.taken >= PASS_BATCH) deliverNow();
          return done.nextDue === undefined ? Effect.void : wakeAt(done.nextDue);
        }),
        Effect.catchAllCause((cause) => Effect.logWarning("delivering cut streams' receipts failed", cause)),
      );
      yield* delivery.resume.pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("resuming cut streams' receipts failed", cause)),
      );
      const loop = Effect.forever(
        Effect.zipRight(
          FiberSet.run(passes, onePass),
          Queue.take(wake).pipe(Effect.timeout(cutReceiptPollEvery), Effect.ignore),
        ),
      );
      const looping = yield* Effect.forkScoped(loop);
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          yield* Fiber.interrupt(looping);
          // Receipts still being written join the last pass.
          yield* drained(writing);
          // Interruptible, as at any other time: a node that never answers must not hold the close.
          yield* FiberSet.run(passes, Effect.interruptible(onePass));
          yield* drained(passes);
        }),
      );
      return { deliverNow, write, pass: delivery.pass };
    }),
  );
}
