import type { Database } from "better-sqlite3";
import { and, eq, is, lte, Param, Placeholder, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { Effect } from "effect";
import { type NodeStoreError, storeWrite } from "./node-store-error.js";
import { claims, type nodeSchema, relays } from "./schema.js";

export type NodeDb = BetterSQLite3Database<typeof nodeSchema>;

type Values = Record<string, unknown>;

/**
 * A drizzle statement with placeholders, prepared once as a better-sqlite3 statement: the same
 * SQL text, each parameter resolved to a placeholder's value or its constant once, here, rather
 * than by drizzle's generic fill on every run.
 */
function prepareRun(
  db: NodeDb,
  query: {
    toSQL(): { sql: string; params: unknown[] };
    prepare(): { run(values: Values): { changes: number } };
  },
): (values: Values) => { changes: number } {
  // drizzle's better-sqlite3 driver keeps the connection as `$client` (its type here omits it).
  const client = (db as { readonly $client?: Database }).$client;
  if (client === undefined) {
    const prepared = query.prepare();
    return (values) => prepared.run(values);
  }
  const { sql: text, params } = query.toSQL();
  const statement = client.prepare(text);
  const resolve = params.map((param): ((values: Values) => unknown) => {
    if (is(param, Placeholder)) {
      const name = param.name;
      return (values) => required(values, name);
    }
    if (is(param, Param) && is(param.value, Placeholder)) {
      const { encoder } = param;
      const name = param.value.name;
      return (values) => encoder.mapToDriverValue(required(values, name));
    }
    return () => param;
  });
  return (values) => statement.run(...resolve.map((value) => value(values)));
}

function required(values: Values, name: string): unknown {
  if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
  return values[name];
}

export interface AdmittedRelay {
  readonly requestHash: string;
  readonly sessionId: string;
  readonly sessionNumber: number;
  readonly sessionEnd: number;
  readonly serviceId: string;
  readonly tier: string;
  readonly applicationAddress: string;
  readonly gatewayAddress: string;
}

export interface AnsweredRelay {
  readonly responseHash: string;
  readonly leafHash: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly computeUnits: number;
}

/**
 * The node's relay ledger. Every write is a single synchronous SQLite statement, so it is
 * committed (WAL) before the caller goes on: a relay recorded as answered survives `kill -9`.
 * Writes are Effects that fail with a typed {@link NodeStoreError}; reads are plain calls.
 */
export class RelayStore {
  /** The per-relay writes, prepared once (SQLite parses each statement once, not per relay). */
  readonly #admit;
  readonly #answer;
  readonly #refuse;

  constructor(private readonly db: NodeDb) {
    const p = sql.placeholder;
    this.#admit = prepareRun(
      db,
      db
        .insert(relays)
        .values({
          requestHash: p("requestHash"),
          sessionId: p("sessionId"),
          sessionNumber: p("sessionNumber"),
          sessionEnd: p("sessionEnd"),
          serviceId: p("serviceId"),
          tier: p("tier"),
          applicationAddress: p("applicationAddress"),
          gatewayAddress: p("gatewayAddress"),
          outcome: "pending",
          createdAt: p("createdAt"),
        })
        .onConflictDoNothing(),
    );
    this.#answer = prepareRun(
      db,
      db
        .update(relays)
        .set({
          responseHash: sql`${p("responseHash")}`,
          leafHash: sql`${p("leafHash")}`,
          inputTokens: sql`${p("inputTokens")}`,
          outputTokens: sql`${p("outputTokens")}`,
          computeUnits: sql`${p("computeUnits")}`,
          outcome: "ok",
          completedAt: sql`${p("completedAt")}`,
        })
        .where(eq(relays.requestHash, p("requestHash"))),
    );
    this.#refuse = prepareRun(
      db,
      db
        .update(relays)
        .set({ outcome: "error", errorCode: sql`${p("errorCode")}`, completedAt: sql`${p("completedAt")}` })
        .where(eq(relays.requestHash, p("requestHash"))),
    );
  }

  /** Records an admitted relay; `false` when the same request was seen before (a replay). */
  admit(relay: AdmittedRelay, now: number): Effect.Effect<boolean, NodeStoreError> {
    return storeWrite(
      "admit relay",
      () =>
        this.#admit({
          requestHash: relay.requestHash,
          sessionId: relay.sessionId,
          sessionNumber: relay.sessionNumber,
          sessionEnd: relay.sessionEnd,
          serviceId: relay.serviceId,
          tier: relay.tier,
          applicationAddress: relay.applicationAddress,
          gatewayAddress: relay.gatewayAddress,
          createdAt: now,
        }).changes === 1,
    );
  }

  /** Marks a relay answered: it now counts in its session's claim. */
  answer(requestHash: string, answered: AnsweredRelay, now: number): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record answered relay", () => {
      this.#answer({
        requestHash,
        responseHash: answered.responseHash,
        leafHash: answered.leafHash,
        inputTokens: answered.inputTokens,
        outputTokens: answered.outputTokens,
        computeUnits: answered.computeUnits,
        completedAt: now,
      });
    });
  }

  /** Marks a relay refused or failed: it is kept (so a replay is still refused) but never claimed. */
  refuse(requestHash: string, errorCode: string, now: number): Effect.Effect<void, NodeStoreError> {
    return storeWrite("record refused relay", () => {
      this.#refuse({ requestHash, errorCode, completedAt: now });
    });
  }

  /** Relays left `pending` by a crash were never answered: mark them so they are not claimed. */
  abandonPending(now: number): Effect.Effect<number, NodeStoreError> {
    return storeWrite(
      "mark abandoned relays",
      () =>
        this.db
          .update(relays)
          .set({ outcome: "error", errorCode: "INTERNAL", completedAt: now })
          .where(eq(relays.outcome, "pending"))
          .run().changes,
    );
  }

  outcomeOf(requestHash: string): string | undefined {
    return this.db.select({ o: relays.outcome }).from(relays).where(eq(relays.requestHash, requestHash)).get()
      ?.o;
  }

  /** (session, gateway) pairs whose window closed before `endedBefore` and that have answered relays but no claim yet. */
  unclaimedSessions(endedBefore: number): {
    sessionId: string;
    gatewayAddress: string;
    serviceId: string;
    applicationAddress: string;
    sessionNumber: number;
    sessionEnd: number;
  }[] {
    return this.db
      .selectDistinct({
        sessionId: relays.sessionId,
        gatewayAddress: relays.gatewayAddress,
        serviceId: relays.serviceId,
        applicationAddress: relays.applicationAddress,
        sessionNumber: relays.sessionNumber,
        sessionEnd: relays.sessionEnd,
      })
      .from(relays)
      .where(
        and(
          eq(relays.outcome, "ok"),
          lte(relays.sessionEnd, endedBefore),
          sql`NOT EXISTS (SELECT 1 FROM ${claims} c WHERE c.session_id = ${relays.sessionId} AND c.gateway_address = ${relays.gatewayAddress})`,
        ),
      )
      .all();
  }

  /** The claim leaves of one session and gateway: every answered relay's leaf hash and weight. */
  leaves(sessionId: string, gatewayAddress: string): { leafHash: string; computeUnits: number }[] {
    return this.db
      .select({ leafHash: relays.leafHash, computeUnits: relays.computeUnits })
      .from(relays)
      .where(
        and(
          eq(relays.sessionId, sessionId),
          eq(relays.gatewayAddress, gatewayAddress),
          eq(relays.outcome, "ok"),
        ),
      )
      .all()
      .flatMap((r) => (r.leafHash === null ? [] : [{ leafHash: r.leafHash, computeUnits: r.computeUnits }]));
  }

  counts(): { outcome: string; n: number }[] {
    return this.db
      .select({ outcome: relays.outcome, n: sql<number>`count(*)` })
      .from(relays)
      .groupBy(relays.outcome)
      .all();
  }
}
