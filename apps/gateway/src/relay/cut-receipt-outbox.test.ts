import { createServer } from "node:net";
import { describe, expect, it } from "@effect/vitest";
import { createStreamCutReceipt, generateKeyPair } from "@pocket-ai/protocol";
import { MetricsRegistry, PEER_TEXT_MAX, plainSql, type SqlClient } from "@pocket-ai/runtime";
import { TRPCClientError } from "@trpc/client";
import { Context, Effect, Exit, HashMap, Layer, Logger, TestClock } from "effect";
import { accountsTest } from "../../test/support/accounts-test-layer.js";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import type { PendingCutReceipt } from "../db/cut-receipt-rows.js";
import { takeDueCutReceipts } from "../db/cut-receipt-rows.js";
import { GatewayStore } from "../db/database.js";
import { insertRelayRow, type RelayRow } from "../db/relay-rows.js";
import { Limits } from "../limits/limits.js";
import { RoutingSettings } from "../routing/routing-config.js";
import { makeRoutingMetrics } from "../routing/routing-metrics.js";
import {
  cutReceiptLeaseMs,
  cutReceiptRetryDelayMs,
  cutReceiptUnknownPatienceMs,
} from "../routing/schedules.js";
import { cutReceiptExpiresAt } from "./cut-receipt.js";
import { makeCutReceiptDelivery } from "./cut-receipt-outbox.js";
import { NodeClients } from "./node-client.js";

/** The nodes here listen on loopback. */
const loopbackNodeClients = NodeClients.layer.pipe(
  Layer.provide(RoutingSettings.layer({ allowPrivateEndpoints: true })),
);

const gatewayKey = generateKeyPair();
const nodeAddress = generateKeyPair().address;
const hex = (i: number) => i.toString(16).padStart(64, "0");
/** Sessions of 10 s with a grace of 3 s: session 1 ends at 20 s, and its claim may be built from 23 s. */
const session = { mode: "time" as const, genesisMs: 0, sessionLengthMs: 10_000, graceMs: 3_000 };
const SESSION_END = 20_000;
const EXPIRES_AT = cutReceiptExpiresAt(SESSION_END, session);

/** The gateway's signed receipt for relay `i`, a stream it cut at `issuedAt` in session 1. */
const receiptOf = (i: number, issuedAt: number, expiresAt = EXPIRES_AT): PendingCutReceipt => ({
  receipt: createStreamCutReceipt(
    {
      nodeAddress,
      sessionId: hex(1),
      requestHash: hex(100 + i),
      chain: hex(200 + i),
      outputTokens: 4,
      computeUnits: 300,
      issuedAt,
    },
    gatewayKey,
  ),
  expiresAt,
});

/** The ledger row of relay `i`, cut by its client, carrying `cutReceipt`. */
const rowOf = (
  i: number,
  keyId: string,
  applicationId: string,
  cutReceipt?: PendingCutReceipt,
): RelayRow => ({
  requestHash: hex(100 + i),
  applicationId,
  keyId,
  serviceId: "llama-2-13b",
  tier: "standard",
  operation: "chat",
  nodeAddress,
  sessionId: hex(1),
  sessionNumber: 1,
  outcome: "interrupted",
  errorCode: "CLIENT_CLOSED",
  leafHash: hex(300 + i),
  computeUnits: 300,
  outputTokens: 4,
  createdAt: 15_000,
  ...(cutReceipt === undefined ? {} : { cutReceipt }),
});

/** A loopback port nothing listens on: a node that cannot be reached (connection refused). */
const closedPort = () =>
  Effect.promise(
    () =>
      new Promise<number>((resolve) => {
        const probe = createServer().listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as { port: number };
          probe.close(() => resolve(port));
        });
      }),
  );

interface StoredReceipt {
  readonly requestHash: string;
  readonly receipt: string;
  readonly attempts: number;
  readonly nextAttemptAt: number;
}
const stored = (db: SqlClient) =>
  Effect.promise(() =>
    db.all<StoredReceipt>(plainSql`
      select request_hash as "requestHash", receipt, attempts, next_attempt_at as "nextAttemptAt"
      from cut_receipts order by request_hash`),
  );

/** Writes relay `i`'s row and receipt as the metering writer does: one transaction. */
const writeCut = (db: SqlClient, i: number, issuedAt: number, expiresAt = EXPIRES_AT) =>
  Effect.promise(() =>
    db.transaction((tx) => insertRelayRow(tx, rowOf(i, "k", "a", receiptOf(i, issuedAt, expiresAt)))),
  );

/** The outbox's deliveries over `db`, to a node at `endpoint`, counted in a fresh registry. */
const deliveryOver = (db: SqlClient, endpoint: string | undefined) =>
  Effect.gen(function* () {
    const registry = new MetricsRegistry();
    const metrics = makeRoutingMetrics(registry);
    const delivery = makeCutReceiptDelivery({
      db,
      endpointOf: () => endpoint,
      clients: yield* NodeClients,
      outcomes: metrics.cutReceipts,
      pending: metrics.cutReceiptsPending,
    });
    return { ...delivery, registry };
  });

describe("the retry schedule of a cut stream's receipt", () => {
  it("starts fast, doubles, and stays at most 30 s apart", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map(cutReceiptRetryDelayMs)).toEqual([
      200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000,
    ]);
    expect(cutReceiptRetryDelayMs(1_000)).toBe(30_000);
  });

  it("ends when the node builds the session's claim: its end plus the session grace", () => {
    expect(EXPIRES_AT).toBe(23_000);
  });
});

describe.each(STORE_DIALECTS)("the outbox of cut streams' receipts on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it.effect(
      "writes a receipt with its stream's ledger row, in the charge's transaction, and never alone",
      () =>
        Effect.gen(function* () {
          const accounts = yield* Accounts;
          const limits = yield* Limits;
          const app = yield* accounts.createApplication({ name: "Acme" });
          const { secret } = yield* accounts.createKey(app.id, { name: "k", budgetMicroUsd: 10_000 });
          const key = yield* accounts.authenticate(secret);
          const db = yield* GatewayStore;
          const first = receiptOf(1, 15_000);
          const r = yield* limits.reserve(key, { tokens: 100, costMicroUsd: 600 });
          yield* limits.settle(r, { tokens: 10, costMicroUsd: 300 }, () =>
            rowOf(1, key.keyId, key.applicationId, first),
          );
          expect(yield* stored(db)).toEqual([
            {
              requestHash: hex(101),
              receipt: JSON.stringify(first.receipt),
              attempts: 0,
              nextAttemptAt: 15_000,
            },
          ]);
          // The same relay settled again (its row is in the ledger): nothing of it is written.
          const again = yield* limits.reserve(key, { tokens: 100, costMicroUsd: 600 });
          const duplicate = yield* Effect.exit(
            limits.settle(again, { tokens: 10, costMicroUsd: 300 }, () =>
              rowOf(1, key.keyId, key.applicationId, receiptOf(1, 16_000)),
            ),
          );
          expect(Exit.isFailure(duplicate)).toBe(true);
          expect((yield* stored(db)).map((s) => s.receipt)).toEqual([JSON.stringify(first.receipt)]);
          // A row without a receipt (the node was owed nothing) writes none.
          const plain = yield* limits.reserve(key, { tokens: 100, costMicroUsd: 600 });
          yield* limits.settle(plain, { tokens: 10, costMicroUsd: 300 }, () =>
            rowOf(2, key.keyId, key.applicationId),
          );
          expect(yield* stored(db)).toHaveLength(1);
        }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect(
      "tries an undelivered receipt again, sooner then later, until its session's claim may be built, then drops it as expired",
      () =>
        Effect.gen(function* () {
          const db = yield* GatewayStore;
          const port = yield* closedPort();
          const delivery = yield* deliveryOver(db, `http://127.0.0.1:${port}`);
          const logged: { message: unknown; annotations: Record<string, unknown> }[] = [];
          const capture = Logger.replace(
            Logger.defaultLogger,
            Logger.make(({ message, annotations }) =>
              logged.push({ message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) }),
            ),
          );
          const pass = (at: number) =>
            Effect.zipRight(TestClock.setTime(at), delivery.pass.pipe(Effect.provide(capture)));
          yield* writeCut(db, 1, 15_000);

          // Due at once; the node does not answer: tried again 200 ms later, then 400 ms after that.
          expect(yield* pass(15_000)).toMatchObject({ taken: 1, retried: 1, pending: 1, nextDue: 15_200 });
          expect(yield* stored(db)).toMatchObject([{ attempts: 1, nextAttemptAt: 15_200 }]);
          // The operator sees it waiting.
          expect(delivery.registry.render()).toMatch(/^pocket_gateway_cut_receipts_pending 1$/m);
          expect(yield* pass(15_199)).toMatchObject({ taken: 0, nextDue: 15_200 });
          expect(yield* pass(15_200)).toMatchObject({ taken: 1, retried: 1, nextDue: 15_600 });
          // Still tried just before its session's claim may be built, and due again at that moment.
          expect(yield* pass(22_999)).toMatchObject({ taken: 1, retried: 1, nextDue: EXPIRES_AT });
          expect(yield* stored(db)).toMatchObject([{ attempts: 3, nextAttemptAt: EXPIRES_AT }]);
          expect(logged).toEqual([]);

          // From then on it cannot change the node's claim: dropped, counted and logged, not sent.
          expect(yield* pass(EXPIRES_AT)).toMatchObject({
            taken: 1,
            expired: 1,
            retried: 0,
            pending: 0,
            nextDue: undefined,
          });
          expect(yield* stored(db)).toEqual([]);
          expect(delivery.registry.render()).toMatch(/^pocket_gateway_cut_receipts_pending 0$/m);
          expect(delivery.registry.render()).toMatch(
            /^pocket_gateway_cut_receipts_total\{outcome="expired"\} 1$/m,
          );
          expect(logged).toHaveLength(1);
          expect(logged[0]!.annotations).toEqual({
            code: "CUT_RECEIPT_EXPIRED",
            node: nodeAddress,
            sessionId: hex(1),
            requestHash: hex(101),
            attempts: 3,
          });
          expect(yield* pass(EXPIRES_AT + 60_000)).toMatchObject({ taken: 0, expired: 0 });
        }).pipe(Effect.provide(Layer.merge(accountsTest(dialect), loopbackNodeClients))),
    );

    it.effect(
      "drops a receipt its node, reachable, still has no record of long after: the node never got that relay",
      () =>
        Effect.gen(function* () {
          const db = yield* GatewayStore;
          const registry = new MetricsRegistry();
          let asked = 0;
          // A node that answers every receipt `UNKNOWN_RELAY`, as one that never got the request does.
          const unknownRelay = new TRPCClientError("relay not recorded", {
            result: {
              error: { code: -32_004, message: "relay not recorded", data: { pocketCode: "UNKNOWN_RELAY" } },
            },
          } as never);
          const delivery = makeCutReceiptDelivery({
            db,
            endpointOf: () => "http://node.invalid",
            clients: {
              get: () =>
                ({
                  settleCut: {
                    mutate: () => {
                      asked += 1;
                      return Promise.reject(unknownRelay);
                    },
                  },
                }) as never,
            },
            outcomes: makeRoutingMetrics(registry).cutReceipts,
          });
          yield* writeCut(db, 1, 15_000, 1e9);
          const pass = (at: number) => Effect.zipRight(TestClock.setTime(at), delivery.pass);
          // Not recorded yet, as a node's commit or a relay still running would be: asked again.
          expect(yield* pass(15_000)).toMatchObject({ taken: 1, retried: 1 });
          const patient = 15_000 + cutReceiptUnknownPatienceMs;
          expect(yield* pass(patient - 1)).toMatchObject({ taken: 1, retried: 1, unknown: 0 });
          // Long after (at its next try), still no record: it never got the request, and holds no leaf of it.
          expect(yield* pass(patient + cutReceiptRetryDelayMs(2))).toMatchObject({
            taken: 1,
            unknown: 1,
            retried: 0,
            nextDue: undefined,
          });
          expect(yield* stored(db)).toEqual([]);
          expect(asked).toBe(3);
          expect(registry.render()).toMatch(/^pocket_gateway_cut_receipts_total\{outcome="unknown"\} 1$/m);
          expect(registry.render()).not.toMatch(/outcome="expired"/);
        }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("logs the beginning only of a node's refusal detail, however long", () =>
      Effect.gen(function* () {
        const db = yield* GatewayStore;
        const detail = `${"forged\n".repeat(100_000)}end`;
        const refusal = new TRPCClientError("refused", {
          result: {
            error: { code: -32_600, message: "refused", data: { pocketCode: "MALFORMED_ENVELOPE", detail } },
          },
        } as never);
        const delivery = makeCutReceiptDelivery({
          db,
          endpointOf: () => "http://node.invalid",
          clients: { get: () => ({ settleCut: { mutate: () => Promise.reject(refusal) } }) as never },
          outcomes: makeRoutingMetrics(new MetricsRegistry()).cutReceipts,
        });
        const logged: Record<string, unknown>[] = [];
        const capture = Logger.replace(
          Logger.defaultLogger,
          Logger.make(({ annotations }) => logged.push(Object.fromEntries(HashMap.toEntries(annotations)))),
        );
        yield* writeCut(db, 1, 15_000);
        yield* TestClock.setTime(15_000);
        expect(yield* delivery.pass.pipe(Effect.provide(capture))).toMatchObject({ taken: 1, refused: 1 });
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({ code: "CUT_RECEIPT_REFUSED", nodeCode: "MALFORMED_ENVELOPE" });
        const said = logged[0]!.detail as string;
        expect(said.length).toBeLessThanOrEqual(PEER_TEXT_MAX);
        expect(said.startsWith("forged\nforged\n")).toBe(true);
      }).pipe(Effect.provide(accountsTest(dialect))),
    );

    it.effect("expires a receipt whose node the gateway no longer knows", () =>
      Effect.gen(function* () {
        const db = yield* GatewayStore;
        const delivery = yield* deliveryOver(db, undefined);
        yield* writeCut(db, 1, 15_000);
        yield* TestClock.setTime(15_000);
        expect(yield* delivery.pass).toMatchObject({ taken: 1, retried: 1 });
        yield* TestClock.setTime(EXPIRES_AT);
        expect(yield* delivery.pass).toMatchObject({ taken: 1, expired: 1 });
        expect(yield* stored(db)).toEqual([]);
      }).pipe(Effect.provide(Layer.merge(accountsTest(dialect), loopbackNodeClients))),
    );

    it.effect("gives each due receipt to one of two gateways on the same database", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const { location } = yield* freshLocation(dialect);
          // Two processes (replicas): each its own connection or pool.
          const open = Effect.map(Layer.build(GatewayStore.layer(location)), (c) =>
            Context.get(c, GatewayStore),
          );
          const one = yield* open;
          const two = yield* open;
          const port = yield* closedPort();
          const endpoint = `http://127.0.0.1:${port}`;
          const first = yield* deliveryOver(one, endpoint);
          const second = yield* deliveryOver(two, endpoint);
          // Rounds of receipts due at once, each taken by four passes of each gateway together.
          for (let round = 0; round < 5; round++) {
            for (let i = 0; i < 40; i++) yield* writeCut(one, round * 100 + i, 15_000, 1e9);
            yield* TestClock.setTime(15_000 + round * cutReceiptLeaseMs);
            const passes = yield* Effect.all(
              Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? first : second).pass),
              { concurrency: "unbounded" },
            );
            expect(passes.reduce((sum, p) => sum + p.taken, 0)).toBe(40);
            // Each was tried once, by one pass of one of them.
            const attempts = (yield* stored(one)).map((s) => s.attempts);
            expect(attempts).toEqual(Array.from({ length: 40 }, () => 1));
            yield* Effect.promise(() => one.run(plainSql`delete from cut_receipts`));
          }
        }),
      ).pipe(Effect.provide(loopbackNodeClients)),
    );

    it.effect(
      "resumes what a stopped process left: at once where it alone owns the database (SQLite), after its lease on PostgreSQL",
      () =>
        Effect.gen(function* () {
          const db = yield* GatewayStore;
          // Of a session far from its end.
          yield* writeCut(db, 1, 15_000, 15_000 + 10 * cutReceiptLeaseMs);
          // A delivery took it at 15 s and its process stopped before it ended.
          const taken = yield* Effect.promise(() =>
            takeDueCutReceipts(db, 15_000, 15_000 + cutReceiptLeaseMs, 10),
          );
          expect(taken).toHaveLength(1);
          const port = yield* closedPort();
          const restarted = yield* deliveryOver(db, `http://127.0.0.1:${port}`);
          yield* TestClock.setTime(15_001);
          yield* restarted.resume;
          const resumed = yield* restarted.pass;
          if (dialect === "sqlite") expect(resumed).toMatchObject({ taken: 1, retried: 1 });
          else {
            expect(resumed).toMatchObject({ taken: 0, nextDue: 15_000 + cutReceiptLeaseMs });
            yield* TestClock.setTime(15_000 + cutReceiptLeaseMs);
            expect(yield* restarted.pass).toMatchObject({ taken: 1, retried: 1 });
          }
        }).pipe(Effect.provide(Layer.merge(accountsTest(dialect), loopbackNodeClients))),
    );
  });
});
