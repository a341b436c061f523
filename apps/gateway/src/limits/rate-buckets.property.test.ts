import { sql } from "drizzle-orm";
import { Clock, Effect, Exit, Layer, ManagedRuntime } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import { GatewayStore } from "../db/database.js";
import { releaseStaleReservations } from "./budget-ledger.js";
import { Limits, type Reservation, STALE_RESERVATION_MS } from "./limits.js";
import {
  BUCKET_MS,
  checkWindow,
  firstBucket,
  RATE_WINDOW_MS,
  type WindowEntry,
  windowUsage,
} from "./rate-window.js";

/** The test's clock: every step of the gateway reads `clock.now`. */
const clock = { now: 0 };
const realClock = Clock.make();
const testClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => clock.now,
  unsafeCurrentTimeNanos: () => BigInt(clock.now) * 1_000_000n,
  currentTimeMillis: Effect.sync(() => clock.now),
  currentTimeNanos: Effect.sync(() => BigInt(clock.now) * 1_000_000n),
  sleep: (d) => realClock.sleep(d),
};

const Op = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("reserve" as const),
      requests: fc.integer({ min: 1, max: 2 }),
      tokens: fc.integer({ min: 0, max: 1_500 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("settle" as const),
      pick: fc.nat(),
      tokens: fc.integer({ min: 0, max: 1_500 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("release" as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("wait" as const),
      ms: fc.oneof(
        fc.integer({ min: 0, max: 3_000 }),
        fc.integer({ min: 59_000, max: 61_000 }),
        fc.integer({ min: 0, max: 70_000 }),
        fc.constantFrom(1, 999, 1_000, 59_000, 59_999, 60_000),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("sweep" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("limits" as const),
      rpm: fc.option(fc.integer({ min: 1, max: 8 }), { freq: 2 }),
      tpm: fc.option(fc.integer({ min: 1, max: 4_000 }), { freq: 2 }),
    }),
  },
);

/** A reservation as the model keeps it: its row's share of the window. */
interface Held extends WindowEntry {
  readonly id: string;
  readonly reservation: Reservation;
  readonly open: boolean;
}

const oldestFirst = (a: Held, b: Held) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe.each(STORE_DIALECTS)("rate buckets on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const runtime = ManagedRuntime.make(
      AccountsLive.pipe(
        Layer.provideMerge(Layer.merge(tempStore(dialect), AccountsConfig.layerTest)),
        // Services read the clock they were built with: the test's.
        Layer.provide(Layer.setClock(testClock)),
      ),
    );
    beforeAll(() => runtime.runPromise(Limits));
    afterAll(() => runtime.dispose());

    it("for any sequence of reserve/settle/release/wait/sweep/limit changes: every decision, retry delay and usage is the exact per-reservation window's, and each bucket equals its rows", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1_800_000_000_000, max: 1_800_000_100_000 }),
          fc.option(fc.integer({ min: 1, max: 8 }), { freq: 2 }),
          fc.option(fc.integer({ min: 1, max: 4_000 }), { freq: 2 }),
          fc.array(Op, { maxLength: 30 }),
          (start, firstRpm, firstTpm, ops) =>
            runtime.runPromise(
              Effect.gen(function* () {
                clock.now = start;
                let rpm = firstRpm;
                let tpm = firstTpm;
                const accounts = yield* Accounts;
                const limits = yield* Limits;
                const db = yield* GatewayStore;
                const app = yield* accounts.createApplication({ name: "p" });
                const { secret } = yield* accounts.createKey(app.id, { name: "k", rpm, tpm });
                let key = yield* accounts.authenticate(secret);
                let held: Held[] = [];
                for (const step of ops) {
                  const now = clock.now;
                  if (step.op === "reserve") {
                    const ask = { requests: step.requests, tokens: step.tokens };
                    const window = held.slice().sort(oldestFirst);
                    const expected =
                      rpm === null && tpm === null ? undefined : checkWindow(window, { rpm, tpm }, ask, now);
                    const exit = yield* Effect.exit(limits.reserve(key, { ...ask, costMicroUsd: 0 }));
                    if (expected === undefined) {
                      expect(Exit.isSuccess(exit) ? "ok" : String(exit.cause)).toBe("ok");
                      if (!Exit.isSuccess(exit)) continue;
                      const r = exit.value;
                      held.push({ id: r.id, reservation: r, at: now, ...ask, open: true });
                      if (r.window !== undefined) {
                        // The headers' window: whole buckets, at most the oldest bucket's expired rows more.
                        const used = windowUsage(window, now);
                        const expired = window.filter(
                          (e) =>
                            Math.floor(e.at / BUCKET_MS) === firstBucket(now) && e.at <= now - RATE_WINDOW_MS,
                        );
                        const slack = windowUsage(expired, now - 1_000_000);
                        expect(r.window.requests - ask.requests - used.requests).toBeGreaterThanOrEqual(0);
                        expect(r.window.requests - ask.requests - used.requests).toBeLessThanOrEqual(
                          slack.requests,
                        );
                        expect(r.window.tokens - ask.tokens - used.tokens).toBeGreaterThanOrEqual(0);
                        expect(r.window.tokens - ask.tokens - used.tokens).toBeLessThanOrEqual(slack.tokens);
                      }
                    } else {
                      expect(
                        Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error,
                      ).toMatchObject({
                        _tag: "RateLimited",
                        limit: expected.limit,
                        retryAfterMs: expected.retryAfterMs,
                      });
                    }
                  } else if (step.op === "settle" || step.op === "release") {
                    const open = held.filter((h) => h.open);
                    const h = open[step.pick % Math.max(1, open.length)];
                    if (h === undefined) continue;
                    if (step.op === "release") {
                      yield* limits.release(h.reservation);
                      held = held.filter((x) => x.id !== h.id);
                    } else {
                      yield* limits.settle(h.reservation, { tokens: step.tokens, costMicroUsd: 0 });
                      held = held.map((x) =>
                        x.id === h.id ? { ...x, tokens: step.tokens, open: false } : x,
                      );
                    }
                  } else if (step.op === "wait") {
                    clock.now += step.ms;
                  } else if (step.op === "limits") {
                    // A key without limits keeps no buckets; one that gets a limit counts the minute before.
                    yield* accounts.updateKey(key.keyId, { rpm: step.rpm, tpm: step.tpm });
                    key = yield* accounts.authenticate(secret);
                    rpm = step.rpm;
                    tpm = step.tpm;
                  } else {
                    yield* Effect.promise(() =>
                      releaseStaleReservations(db, now - STALE_RESERVATION_MS, now),
                    );
                  }
                  const usage = yield* limits.usage(key.keyId);
                  const exact = windowUsage(held, clock.now);
                  expect(usage.window).toMatchObject(exact);
                  if (rpm === null && tpm === null) continue;
                  // Every bucket still in the window holds exactly the sum of its rows.
                  const mismatched = yield* Effect.promise(() =>
                    db.all(sql`
                      select b."second" from key_rate_buckets b
                      where b.key_id = ${key.keyId} and b."second" >= ${firstBucket(clock.now)}
                        and (b.requests, b.tokens) <> (
                          select coalesce(sum(r.requests), 0), coalesce(sum(r.tokens), 0) from key_reservations r
                          where r.key_id = b.key_id and r.at >= b."second" * ${BUCKET_MS}
                            and r.at < (b."second" + 1) * ${BUCKET_MS})`),
                  );
                  expect(mismatched).toEqual([]);
                }
              }).pipe(Effect.withClock(testClock)),
            ),
        ),
        { numRuns: dialect === "sqlite" ? 120 : 30 },
      );
    });
  });
});
