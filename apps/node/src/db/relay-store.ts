import type { Database } from "better-sqlite3";
import { and, eq, is, isNotNull, isNull, lte, Param, Placeholder, sql } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import { Effect } from "effect";
import { type NodeStoreError, storeError, storeWrite } from "./node-store-error.js";
import { claims, ledgerSessions, type nodeSchema, relays } from "./schema.js";

export type NodeDb = BetterSQLite3Database<typeof nodeSchema>;

type Values = Record<string, unknown>;

/** A statement prepared once: `run` for a write (what it changed), `get` for a read (its first row). */
interface Prepared {
  run(values: Values): { changes: number };
  get(values: Values): unknown;
}

/** drizzle's better-sqlite3 driver keeps the connection as `$client` (its type here omits it). */
const nativeClient = (db: NodeDb): Database | undefined => (db as { readonly $client?: Database }).$client;

/**
 * A drizzle statement with placeholders, prepared once as a better-sqlite3 statement: the same
 * SQL text, each parameter resolved to a placeholder's value or its constant once, here, rather
 * than by drizzle's generic fill on every run.
 */
function prepareStatement(
  db: NodeDb,
  query: { toSQL(): { sql: string; params: unknown[] }; prepare(): Prepared },
): Prepared {
  const client = nativeClient(db);
  if (client === undefined) return query.prepare();
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
  const args = (values: Values) => resolve.map((value) => value(values));
  return {
    run: (values) => statement.run(...args(values)),
    get: (values) => statement.get(...args(values)),
  };
}

function required(values: Values, name: string): unknown {
  if (!(name in values)) throw new Error(`No value for placeholder "${name}" was provided`);
  return values[name];
}

/** The columns of a relay's row that admission decided (`completedAt` null: a stream still served). */
function rowOf(relay: AdmittedRelay, admittedAt: number, completedAt: number | null): Values {
  return {
    requestHash: relay.requestHash,
    sessionId: relay.sessionId,
    sessionNumber: relay.sessionNumber,
    sessionEnd: relay.sessionEnd,
    serviceId: relay.serviceId,
    tier: relay.tier,
    applicationAddress: relay.applicationAddress,
    gatewayAddress: relay.gatewayAddress,
    stream: relay.stream,
    createdAt: admittedAt,
    completedAt,
  };
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
  /** Whether it is served as a stream (only a stream's row takes a cut receipt: see `settleCut`). */
  readonly stream: boolean;
  /**
   * When no relay of its session can be admitted any more (the session's end plus its grace): an
   * admitted relay still unanswered then may be forgotten, as a replay of it is refused anyway and
   * its session's claim is built from the relays answered by then (an outcome that comes later is
   * not written). Absent: kept until it is answered or refused.
   */
  readonly expiresAt?: number;
}

export interface AnsweredRelay {
  readonly responseHash: string;
  readonly leafHash: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly computeUnits: number;
}

/**
 * Why a relay's row cannot take a stream cut receipt (see {@link RelayStore.settleCut}):
 * - `another gateway`, `another session`: the receipt names a relay of another gateway or session;
 * - `unary`: the relay was not streamed, so no client cut it short (only a receipt of nothing, an
 *   attempt the gateway gave up on, is taken for it);
 * - `no head`: it pays a share under the request hash, which no signed head is;
 * - `settled otherwise`: an earlier receipt settled it with another leaf or weight;
 * - `not cut`: the relay failed for a reason of its own, not a cut;
 * - `more than recorded`: more output than the node sent, or more weight than the whole call's;
 * - `claim may be built`: a finished relay whose session's claim may already hold its leaf.
 */
export type CutRefusal =
  | "another gateway"
  | "another session"
  | "unary"
  | "no head"
  | "settled otherwise"
  | "not cut"
  | "more than recorded"
  | "claim may be built";

/** How a relay's row took a stream cut receipt (see {@link RelayStore.settleCut}). */
export type CutSettlement =
  | "settled"
  | "unchanged"
  | "pending"
  | "unknown"
  | { readonly refused: CutRefusal };

/**
 * A stream's open row (see {@link RelayStore.streamOpening}): written while it is served, cut with no
 * completion time. No other row has none (`pending` rows of earlier versions are another outcome).
 */
const openRow = () =>
  and(outcomeIs("error"), eq(relays.errorCode, "STREAM_INTERRUPTED"), isNull(relays.completedAt));

/**
 * Rows of one outcome, found through the index that holds that outcome's rows alone (answered:
 * `relays_session_gateway`; refused or `pending`: `relays_outcome_end`): the outcome is written in
 * the statement, not bound, as SQLite takes a partial index only for a statement whose WHERE says
 * what the index's does.
 */
const outcomeIs = (outcome: "ok" | "error" | "pending") =>
  sql`${relays.outcome} = ${sql.raw(`'${outcome}'`)}`;

/** `settleCut`'s answer, within the store, for an open row another worker may still serve. */
const ASK_PRIMARY = Symbol("ask the primary");

/** At most this many (session, gateway) keys are remembered as written (see `#sessionsWritten`). */
const KNOWN_SESSIONS = 4_096;

/** Admitted relays held in memory before the first sweep of the expired ones (see `admit`). */
const FIRST_SWEEP_AT = 1_024;

/**
 * Admission shared by the processes of one node (its workers, see `app/node-cluster.ts`): a request
 * hash is in flight in at most one of them. `admit` is `false` when another holds it; `release`
 * hands hashes back once their rows are committed (the database refuses replays from then on).
 */
export interface SharedAdmission {
  admit(requestHash: string, expiresAt: number | undefined): Promise<boolean>;
  release(requestHashes: readonly string[]): void;
}

/** A relay's row waiting for the next group commit, and the write waiting on it. */
interface QueuedRow {
  readonly requestHash: string;
  readonly operation: string;
  readonly row: Values;
  /** A stream's row while it is served (see `streamOpening`): its relay stays admitted once committed. */
  readonly open: boolean;
  /** Its relay's open row is in the file: the outcome takes its place (see `#replaceOpen`). */
  readonly replaces: boolean;
  /** Called once the row is committed (no argument) or its write failed (the failure). */
  readonly done: (failure?: NodeStoreError) => void;
}

/**
 * The node's relay ledger. A relay is admitted in memory (refused as a replay if its request hash
 * is already admitted or in the database) and written once, with its outcome, when it is answered
 * or refused: one row, committed (WAL) before the caller goes on (`answerQueued`: right after it
 * goes on, in the same turn of the event loop), so a relay recorded as answered survives
 * `kill -9`. The rows of relays that end in one turn of the event loop commit together
 * (group commit: one transaction, one WAL commit, instead of one per relay); a batch that fails is
 * written again row by row, so one bad row fails only its own relay. A stream has one row more:
 * before its engine is opened and waited for before its first chunk leaves, an open row (`streamOpening`:
 * recorded cut, `STREAM_INTERRUPTED`, no leaf, `completed_at` null, the most the request allowed as
 * its counts) that its outcome then takes the place of. A stream whose process dies mid-way so
 * leaves a cut stream's row, which the gateway's cut receipt settles (see {@link settleCut}) as it
 * does a stream the node saw cut. A unary relay admitted but unanswered when the process dies
 * leaves no row: it was never claimable, and its session's checks still bound any replay. Writes
 * are Effects that fail with a typed {@link NodeStoreError}; reads are plain calls.
 */
export class RelayStore {
  /** The per-relay statements, prepared once (SQLite parses each statement once, not per relay). */
  readonly #known;
  readonly #record;
  readonly #recordSession;
  /** Deletes a stream's open row, so that its outcome is written after every row there is. */
  readonly #replaceOpen;
  /**
   * (session, gateway) keys this process has written to `ledger_sessions` (committed): their next
   * answered relays need no insert. Cleared when it grows past {@link KNOWN_SESSIONS}, which only
   * costs an `insert or ignore` again.
   */
  readonly #sessionsWritten = new Set<string>();
  /** Writes a batch of queued rows in one transaction (made once: each one made costs). */
  readonly #recordAll: (batch: readonly QueuedRow[]) => void;
  /** Admitted relays not yet answered or refused, by request hash, with when they were admitted. */
  readonly #admitted = new Map<string, { readonly relay: AdmittedRelay; readonly at: number }>();
  /** Admitted streams whose open row is committed (see `streamOpening`): their outcome replaces it. */
  readonly #open = new Set<string>();
  #sweepAt = FIRST_SWEEP_AT;
  /** Rows queued for the next group commit (their relays stay admitted until it commits). */
  #queued: QueuedRow[] = [];
  /** The request hashes of the queued rows: a second outcome for one of them changes nothing. */
  readonly #recording = new Set<string>();
  #writesFailing = false;

  constructor(
    private readonly db: NodeDb,
    /** The node's other processes, when it runs several (absent: this process alone admits). */
    private readonly shared?: SharedAdmission,
    /** Told how many rows of a group commit failed to write (their relays are never claimed). */
    private readonly onRowsFailed?: (rows: number) => void,
  ) {
    const p = sql.placeholder;
    this.#known = prepareStatement(
      db,
      db
        .select({ one: sql<number>`1` })
        .from(relays)
        .where(eq(relays.requestHash, p("requestHash"))),
    );
    this.#record = prepareStatement(
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
          stream: p("stream"),
          outcome: sql`${p("outcome")}`,
          errorCode: sql`${p("errorCode")}`,
          responseHash: sql`${p("responseHash")}`,
          leafHash: sql`${p("leafHash")}`,
          inputTokens: sql`${p("inputTokens")}`,
          outputTokens: sql`${p("outputTokens")}`,
          computeUnits: sql`${p("computeUnits")}`,
          createdAt: p("createdAt"),
          completedAt: sql`${p("completedAt")}`,
        })
        .onConflictDoNothing(),
    );
    this.#replaceOpen = prepareStatement(
      db,
      db.delete(relays).where(and(eq(relays.requestHash, p("requestHash")), openRow())),
    );
    this.#recordSession = prepareStatement(
      db,
      db
        .insert(ledgerSessions)
        .values({
          sessionId: p("sessionId"),
          gatewayAddress: p("gatewayAddress"),
          serviceId: p("serviceId"),
          applicationAddress: p("applicationAddress"),
          sessionNumber: p("sessionNumber"),
          sessionEnd: p("sessionEnd"),
        })
        .onConflictDoNothing(),
    );
    // Each answered relay's (session, gateway) is written with it, in its transaction, unless this
    // process wrote it before: a session is in `ledger_sessions` exactly when it has an answered row.
    const writeAll = (batch: readonly QueuedRow[]): string[] => {
      const sessions: string[] = [];
      for (const queued of batch) {
        const row = queued.row;
        // Deleted and written anew (a new rowid, after every row there is): an outcome that comes
        // after a claim of its session was built is in no claim (see `leaves`).
        if (queued.replaces) this.#replaceOpen.run(row);
        this.#record.run(row);
        if (row.outcome !== "ok") continue;
        const key = `${row.sessionId as string} ${row.gatewayAddress as string}`;
        if (this.#sessionsWritten.has(key) || sessions.includes(key)) continue;
        this.#recordSession.run(row);
        sessions.push(key);
      }
      return sessions;
    };
    const native = nativeClient(db)?.transaction(writeAll);
    const inTransaction =
      native !== undefined
        ? (batch: readonly QueuedRow[]) => native(batch)
        : (batch: readonly QueuedRow[]) => db.transaction(() => writeAll(batch));
    this.#recordAll = (batch) => {
      const sessions = inTransaction(batch);
      // Only once committed: a batch rolled back wrote no session.
      if (this.#sessionsWritten.size + sessions.length > KNOWN_SESSIONS) this.#sessionsWritten.clear();
      for (const key of sessions) this.#sessionsWritten.add(key);
    };
  }

  /**
   * Admits a relay; `false` when the same request was admitted before (a replay), whether it is
   * still in flight or already recorded. Synchronous from the check to the admission, so two
   * concurrent copies of one request cannot both be admitted; with `shared` (several workers), the
   * primary grants each request hash to one worker at a time, and the database is looked at again
   * once it has.
   */
  admit(relay: AdmittedRelay, now: number): Effect.Effect<boolean, NodeStoreError> {
    const shared = this.shared;
    if (shared === undefined)
      return Effect.suspend(() => {
        const admitted = this.#admitAlone(relay, now);
        return typeof admitted === "boolean" ? Effect.succeed(admitted) : Effect.fail(admitted);
      });
    const fresh = () => this.#fresh(relay.requestHash);
    const take = () => this.#take(relay, now);
    // Several processes: the primary holds each hash in flight in one of them. A relay another
    // process answered while this one asked is in the database by then (its row is committed
    // before its hash is released), so the second look refuses it.
    return Effect.flatMap(storeWrite("admit relay", fresh), (isFresh) => {
      if (!isFresh) return Effect.succeed(false);
      // A relay interrupted while it asks (its gateway went away) hands back a hash it is granted.
      let granted = false;
      let settled = false;
      let abandoned = false;
      const handBack = () => {
        if (granted && !settled) {
          settled = true;
          shared.release([relay.requestHash]);
        }
      };
      const asked = shared.admit(relay.requestHash, relay.expiresAt);
      asked.then(
        (ok) => {
          granted = ok;
          if (abandoned) handBack();
        },
        () => undefined,
      );
      return Effect.tryPromise({
        try: () => asked,
        catch: (e) => storeError("admit relay", e),
      }).pipe(
        Effect.flatMap((ok) =>
          !ok
            ? Effect.succeed(false)
            : storeWrite("admit relay", () => {
                if (fresh()) {
                  settled = true;
                  return take();
                }
                handBack();
                return false;
              }),
        ),
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            abandoned = true;
            handBack();
          }),
        ),
      );
    });
  }

  /**
   * {@link admit} as a plain call, for a relay's one Effect to take without steps of its own:
   * whether it is admitted, or the store's failure. `undefined` with `shared` (several workers),
   * whose admission waits for the primary: `admit` then.
   */
  admitHere(relay: AdmittedRelay, now: number): boolean | NodeStoreError | undefined {
    return this.shared === undefined ? this.#admitAlone(relay, now) : undefined;
  }

  #admitAlone(relay: AdmittedRelay, now: number): boolean | NodeStoreError {
    try {
      return this.#fresh(relay.requestHash) && this.#take(relay, now);
    } catch (e) {
      return storeError("admit relay", e);
    }
  }

  /** Neither admitted here nor recorded in the database. */
  #fresh(requestHash: string): boolean {
    return !this.#admitted.has(requestHash) && this.#known.get({ requestHash }) === undefined;
  }

  #take(relay: AdmittedRelay, now: number): true {
    if (this.#admitted.size >= this.#sweepAt) this.#sweep(now);
    this.#admitted.set(relay.requestHash, { relay, at: now });
    return true;
  }

  /** Forgets the admitted relays whose session can no longer admit anything (amortized: see `#sweepAt`). */
  #sweep(now: number): void {
    for (const [hash, { relay }] of this.#admitted) {
      if (relay.expiresAt !== undefined && relay.expiresAt <= now) {
        this.#admitted.delete(hash);
        this.#open.delete(hash);
      }
    }
    this.#sweepAt = Math.max(FIRST_SWEEP_AT, this.#admitted.size * 2);
  }

  /** How many admitted relays are not yet answered or refused. */
  inFlight(): number {
    return this.#admitted.size;
  }

  /**
   * Records an admitted relay answered: it now counts in its session's claim. A relay not admitted,
   * or already answered or refused, is left as it is. Completes once the row is committed.
   */
  answer(requestHash: string, answered: AnsweredRelay, now: number): Effect.Effect<void, NodeStoreError> {
    return this.#write("record answered relay", requestHash, answeredRow(answered, now));
  }

  /**
   * {@link answer} without waiting for the commit: the row joins the next group commit (at the end
   * of this turn of the event loop) and `done` is called once it is committed, or with the failure.
   * The store's reads commit queued rows first, so they always see it.
   */
  answerQueued(
    requestHash: string,
    answered: AnsweredRelay,
    now: number,
    done: (failure?: NodeStoreError) => void,
  ): void {
    this.#queue("record answered relay", requestHash, answeredRow(answered, now), done);
  }

  /**
   * Records an admitted stream as served, before its first chunk leaves: a row that says it was
   * cut (`error`, `STREAM_INTERRUPTED`, no leaf, no completion time) with `most`, the most it may
   * come to: the input it was admitted with, the output its request allows (`max_tokens` over all
   * its choices: an engine's stream beyond it is refused, not signed) and that call's weight. Its
   * outcome (answered, refused or cut) takes the row's place when the stream ends; a process that
   * dies first leaves it, and the gateway's cut receipt then settles it within those counts (see
   * {@link settleCut}). The relay stays admitted (in memory) until its outcome is written. One row
   * per stream, queued now: it joins the next group commit (at the end of this turn of the event
   * loop) and the promise settles once it is committed, with the failure if it was not. A stream
   * queues it before it opens its engine, so the commit runs while the engine starts; it waits for
   * the promise before its first chunk, and before any other write of the relay (a row queued
   * while this one is would be dropped).
   */
  streamOpening(
    requestHash: string,
    most: { readonly inputTokens: number; readonly outputTokens: number; readonly computeUnits: number },
  ): Promise<NodeStoreError | undefined> {
    return new Promise((resolve) =>
      this.#queue(
        "record a stream being served",
        requestHash,
        (admitted) => ({
          ...rowOf(admitted.relay, admitted.at, null),
          outcome: "error",
          errorCode: "STREAM_INTERRUPTED",
          responseHash: null,
          leafHash: null,
          ...most,
        }),
        resolve,
        true,
      ),
    );
  }

  /**
   * Records an admitted relay refused or failed: it is kept (so a replay is still refused) but never
   * claimed. A relay not admitted, or already answered or refused, is left as it is. Completes once
   * the row is committed.
   */
  refuse(
    requestHash: string,
    errorCode: string,
    now: number,
    /**
     * What the node sent of a stream cut short, and the weight of the whole call: the most a
     * gateway's {@link settleCut} may pay (kept in the row's counts; a refused row is never claimed).
     */
    sent?: { readonly inputTokens: number; readonly outputTokens: number; readonly computeUnits: number },
  ): Effect.Effect<void, NodeStoreError> {
    return this.#write("record refused relay", requestHash, (admitted) => ({
      ...rowOf(admitted.relay, admitted.at, now),
      outcome: "error",
      errorCode,
      responseHash: null,
      leafHash: null,
      inputTokens: sent?.inputTokens ?? 0,
      outputTokens: sent?.outputTokens ?? 0,
      computeUnits: sent?.computeUnits ?? 0,
    }));
  }

  /**
   * A gateway's word (a verified `StreamCutReceipt`) that a stream its client left mid-way is paid
   * work in its ledger, up to the head `responseHash` (the leaf `leafHash`), for `outputTokens` and
   * `computeUnits`. The node's row then says the same, so that the leaf its claim holds is the one
   * the gateway recorded:
   * - a stream the node recorded cut (`STREAM_INTERRUPTED`) becomes an answered row, written anew
   *   after every row there is (as an answer that comes late is: a claim already built from the
   *   first `n` rows keeps them). So does a stream whose process died while it served it (its open
   *   row, see {@link streamOpening}): its counts are the most its request allowed (its
   *   `max_tokens` over all its choices, and that call's weight), as the node cannot know how far
   *   it got, and the receipt is held to them. With several workers, an open row no process here
   *   serves may be another worker's: `pending` unless the primary grants its hash (no live worker
   *   holds it), which this process holds while it settles the row;
   * - a stream the node finished while the gateway was cutting it (its final chunk was on the way)
   *   keeps its place but takes the gateway's leaf and weight, never more than it had; a receipt
   *   of 0 compute units (nothing paid: the client left before a signed head covered what it
   *   read) takes it out of the claim. Its leaf is in the claim's tree, so only while no claim of
   *   its session can have been built: before `claimsFrom` (the session's end plus its grace,
   *   less a margin) and with no claim row yet.
   *
   * Only a stream's row takes a paid receipt: a unary relay is never cut short once answered, so
   * a paid receipt for one (a gateway's fault, or its attempt to lower a finished relay's weight)
   * is refused. A receipt of nothing for a unary relay says the gateway gave the attempt up after
   * sending it and recorded nothing: a finished row leaves the claim, as a finished stream's
   * does. That a paid receipt's head is one this node signed is checked only as far as the row
   * can tell: the request hash is no head. The heads in between are not kept (by default one per
   * chunk of every stream; the chain is a hash over the text, which the node never keeps), so any
   * other chain is the gateway's word; it changes only which leaf the claim holds for the relay
   * (the gateway's ledger holds the same one), never its weight beyond what the node recorded.
   *
   * `settled` when the row changed; `unchanged` when it already says what the receipt says (the
   * same receipt again, or one of nothing for a row in no claim); `pending` while this process
   * (or, with workers, another) still serves the relay; `unknown` when no row of it is here (another worker's not committed
   * yet, or pruned); `refused`, with why, when its row cannot take it.
   */
  settleCut(
    cut: {
      readonly requestHash: string;
      readonly gatewayAddress: string;
      readonly sessionId: string;
      readonly responseHash: string;
      readonly leafHash: string;
      readonly outputTokens: number;
      readonly computeUnits: number;
    },
    now: number,
    /** When a claim of the row's session may be built: given its session's end. */
    claimsFrom: (sessionEnd: number) => number,
  ): Effect.Effect<CutSettlement, NodeStoreError> {
    /**
     * A unary relay its gateway gave up on before the answer reached it: the gateway recorded
     * nothing, so a leaf of it in the claim is one no proof can show. A finished row leaves the
     * claim (recorded as the node records a unary relay its gateway left: failed, `INTERNAL`),
     * under the same condition as a finished stream's; any other row is no leaf already.
     */
    const abandonUnary = (tx: typeof this.db, row: typeof relays.$inferSelect): CutSettlement => {
      if (row.outcome !== "ok") return "unchanged";
      if (now >= claimsFrom(row.sessionEnd) || this.#claimed(tx, row))
        return { refused: "claim may be built" };
      tx.update(relays)
        .set({ outcome: "error", errorCode: "INTERNAL", responseHash: null, leafHash: null, computeUnits: 0 })
        .where(eq(relays.requestHash, row.requestHash))
        .run();
      return "settled";
    };
    const operation = "record a cut stream's receipt";
    const settle = (openHereOnly: boolean) =>
      storeWrite(operation, (): CutSettlement | typeof ASK_PRIMARY => {
        // Its row waits for this process's group commit: written first. Rows of other workers are
        // in the file once committed (until then: `unknown`, which a gateway asks again).
        if (this.#recording.has(cut.requestHash)) this.#commitQueued();
        if (this.#admitted.has(cut.requestHash)) return "pending";
        // Read and written in one write transaction: another worker's commit cannot come between.
        return this.db.transaction(
          (tx): CutSettlement | typeof ASK_PRIMARY => {
            const row = tx.select().from(relays).where(eq(relays.requestHash, cut.requestHash)).get();
            if (row === undefined) return "unknown";
            if (row.gatewayAddress !== cut.gatewayAddress) return { refused: "another gateway" };
            if (row.sessionId !== cut.sessionId) return { refused: "another session" };
            // An open row (see `streamOpening`) that this process does not serve: the process that
            // served it died, unless another worker of the node serves it still, which only the
            // primary knows (it grants a hash to one worker at a time and drops a dead one's).
            const open =
              row.outcome === "error" && row.errorCode === "STREAM_INTERRUPTED" && row.completedAt === null;
            if (open && !openHereOnly && this.shared !== undefined) return ASK_PRIMARY;
            // A unary relay is never cut short once answered: a receipt may only say the gateway gave
            // it up before its answer came (a hedge's loser, a caller gone, its timeout) and recorded
            // nothing, which takes a finished row out of the claim (see `abandonUnary`).
            if (!row.stream) return cut.computeUnits > 0 ? { refused: "unary" } : abandonUnary(tx, row);
            // A share paid needs a signed head covering it: the chain before any chunk is none.
            if (cut.computeUnits > 0 && cut.responseHash === cut.requestHash) return { refused: "no head" };
            const paid = {
              outcome: "ok" as const,
              errorCode: "STREAM_INTERRUPTED",
              responseHash: cut.responseHash,
              leafHash: cut.leafHash,
              outputTokens: cut.outputTokens,
              computeUnits: cut.computeUnits,
            };
            if (row.outcome === "ok" && row.errorCode === "STREAM_INTERRUPTED")
              return row.leafHash === cut.leafHash && row.computeUnits === cut.computeUnits
                ? "unchanged"
                : { refused: "settled otherwise" };
            // Paid nothing: a row that is no claim leaf stays so.
            if (cut.computeUnits === 0 && row.outcome !== "ok") return "unchanged";
            const recordedCut = row.outcome === "error" && row.errorCode === "STREAM_INTERRUPTED";
            const finished = row.outcome === "ok" && row.errorCode === null;
            // Failed for a reason of its own (or left `pending` by an earlier version): not a cut.
            if (!recordedCut && !finished) return { refused: "not cut" };
            // Never more output than the node sent, nor more weight than the whole call's.
            if (cut.outputTokens > row.outputTokens || cut.computeUnits > row.computeUnits)
              return { refused: "more than recorded" };
            if (recordedCut) {
              tx.delete(relays).where(eq(relays.requestHash, cut.requestHash)).run();
              tx.insert(relays)
                .values({ ...row, ...paid, completedAt: row.completedAt ?? now })
                .run();
              // Its session's search row, as an answered relay's write adds it.
              this.#recordSession.run(row);
              return "settled";
            }
            if (now >= claimsFrom(row.sessionEnd) || this.#claimed(tx, row))
              return { refused: "claim may be built" };
            tx.update(relays)
              .set(
                cut.computeUnits === 0
                  ? // Paid nothing: out of the claim, as a stream cut short is.
                    {
                      outcome: "error",
                      errorCode: "STREAM_INTERRUPTED",
                      responseHash: null,
                      leafHash: null,
                      computeUnits: 0,
                    }
                  : paid,
              )
              .where(eq(relays.requestHash, cut.requestHash))
              .run();
            return "settled";
          },
          { behavior: "immediate" },
        );
      });
    const shared = this.shared;
    return Effect.flatMap(settle(false), (result) => {
      if (result !== ASK_PRIMARY) return Effect.succeed(result);
      if (shared === undefined) return Effect.succeed<CutSettlement>("unknown");
      // Granted: no worker serves it, and none takes it until it is handed back below.
      return Effect.uninterruptible(
        Effect.tryPromise({
          try: () => shared.admit(cut.requestHash, undefined),
          catch: (e) => storeError(operation, e),
        }).pipe(
          Effect.flatMap((granted) =>
            granted
              ? settle(true).pipe(
                  Effect.map((r): CutSettlement => (r === ASK_PRIMARY ? "pending" : r)),
                  Effect.ensuring(Effect.sync(() => shared.release([cut.requestHash]))),
                )
              : Effect.succeed<CutSettlement>("pending"),
          ),
        ),
      );
    });
  }

  /** Whether a claim of the row's session and gateway was built already. */
  #claimed(
    tx: typeof this.db,
    row: { readonly sessionId: string; readonly gatewayAddress: string },
  ): boolean {
    return (
      tx
        .select({ one: sql<number>`1` })
        .from(claims)
        .where(and(eq(claims.sessionId, row.sessionId), eq(claims.gatewayAddress, row.gatewayAddress)))
        .get() !== undefined
    );
  }

  /** Queues an admitted relay's row for the next group commit and completes when it commits. */
  #write(
    operation: string,
    requestHash: string,
    row: (admitted: { readonly relay: AdmittedRelay; readonly at: number }) => Values,
  ): Effect.Effect<void, NodeStoreError> {
    return Effect.async<void, NodeStoreError>((resume) =>
      this.#queue(operation, requestHash, row, (failure) =>
        resume(failure === undefined ? Effect.void : Effect.fail(failure)),
      ),
    );
  }

  #queue(
    operation: string,
    requestHash: string,
    row: (admitted: { readonly relay: AdmittedRelay; readonly at: number }) => Values,
    done: (failure?: NodeStoreError) => void,
    open = false,
  ): void {
    const admitted = this.#admitted.get(requestHash);
    if (admitted === undefined || this.#recording.has(requestHash) || (open && this.#open.has(requestHash))) {
      done();
      return;
    }
    this.#recording.add(requestHash);
    const replaces = !open && this.#open.has(requestHash);
    this.#queued.push({ requestHash, operation, row: row(admitted), open, replaces, done });
    if (this.#queued.length === 1) setImmediate(this.#commitQueued);
  }

  /**
   * Writes every queued row in one transaction; if it fails, each row alone. A written relay
   * leaves the in-flight map (a stream's open row keeps it there); one whose write failed stays
   * admitted (a replay is still refused).
   */
  readonly #commitQueued = (): void => {
    const batch = this.#queued;
    if (batch.length === 0) return;
    this.#queued = [];
    let failed: Map<QueuedRow, unknown> | undefined;
    try {
      this.#recordAll(batch);
    } catch {
      failed = new Map();
      for (const queued of batch) {
        try {
          this.#recordAll([queued]);
        } catch (e) {
          failed.set(queued, e);
        }
      }
    }
    const failures = failed?.size ?? 0;
    this.#writesFailing = failures > 0;
    if (failures > 0) this.onRowsFailed?.(failures);
    const written: string[] = [];
    try {
      for (const queued of batch) {
        this.#recording.delete(queued.requestHash);
        const failure =
          failed?.has(queued) === true ? storeError(queued.operation, failed.get(queued)) : undefined;
        if (failure === undefined && queued.open) this.#open.add(queued.requestHash);
        else if (failure === undefined) {
          this.#admitted.delete(queued.requestHash);
          this.#open.delete(queued.requestHash);
          written.push(queued.requestHash);
        }
        // A caller's callback that throws must not leave the rest of the batch untold.
        try {
          queued.done(failure);
        } catch {
          // The caller's own failure: its row's outcome stands as written.
        }
      }
    } finally {
      if (written.length > 0) this.shared?.release(written);
    }
  };

  /**
   * Whether the last group commit failed a row (a full disk, a read-only or broken file): unary
   * answers, which leave before their commit (`answerQueued`), wait for it again, and streams are
   * refused before any work, until a commit succeeds, so a ledger that cannot write fails relays
   * instead of giving answers away that are never claimed.
   */
  get writesFailing(): boolean {
    return this.#writesFailing;
  }

  /**
   * Rows left `pending` by a crash of an earlier version (which wrote a row on admission) were never
   * answered: mark them so they are not claimed.
   */
  abandonPending(now: number): Effect.Effect<number, NodeStoreError> {
    return storeWrite(
      "mark abandoned relays",
      () =>
        this.db
          .update(relays)
          .set({ outcome: "error", errorCode: "INTERNAL", completedAt: now })
          .where(outcomeIs("pending"))
          .run().changes,
    );
  }

  /**
   * Streams whose process died while it served them (their open row, see `streamOpening`) are
   * recorded cut as of `now`, as a stream the node saw cut is: in no claim, until the gateway's cut
   * receipt pays the share its client received (see {@link settleCut}). Only where no process of
   * the node serves a relay yet: a lone node's start, or a primary's before it starts its workers.
   */
  closeOpenStreams(now: number): Effect.Effect<number, NodeStoreError> {
    return storeWrite(
      "mark streams cut by the last run's end",
      () => this.db.update(relays).set({ completedAt: now }).where(openRow()).run().changes,
    );
  }

  /** `pending` while admitted and unanswered, then the recorded outcome; `undefined` if never admitted. */
  outcomeOf(requestHash: string): string | undefined {
    this.#commitQueued();
    if (this.#admitted.has(requestHash)) return "pending";
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
    this.#commitQueued();
    return this.db
      .select({
        sessionId: ledgerSessions.sessionId,
        gatewayAddress: ledgerSessions.gatewayAddress,
        serviceId: ledgerSessions.serviceId,
        applicationAddress: ledgerSessions.applicationAddress,
        sessionNumber: ledgerSessions.sessionNumber,
        sessionEnd: ledgerSessions.sessionEnd,
      })
      .from(ledgerSessions)
      .where(
        and(
          lte(ledgerSessions.sessionEnd, endedBefore),
          sql`NOT EXISTS (SELECT 1 FROM ${claims} c WHERE c.session_id = ${ledgerSessions.sessionId} AND c.gateway_address = ${ledgerSessions.gatewayAddress})`,
        ),
      )
      .all();
  }

  /**
   * Deletes at most `limit` rows that no claim needs any more, and returns how many it deleted:
   * the rows of a (session, gateway) whose claim settled (proven or rejected) at or before
   * `settledBefore`, then refused and failed rows (never claimable) of sessions that ended at or
   * before `endedBefore`. Call it with `endedBefore` past the sessions' grace: a request of such a
   * session is refused by the session checks, so its row is no longer needed to refuse a replay.
   * The claim row keeps each settled session's totals. Rows of claims not yet settled stay. An
   * ended session left with no answered row and no claim leaves the claim loop's search table too
   * (not counted in the result).
   */
  prune(settledBefore: number, endedBefore: number, limit: number): Effect.Effect<number, NodeStoreError> {
    // Not on the relay path (a claim pass runs it): drizzle's statements, prepared per call.
    return storeWrite("prune the relay ledger", () => {
      this.#commitQueued();
      // Each outcome through its own index (see `relays_session_gateway`, `relays_outcome_end`);
      // `cross join` keeps the claims the outer loop, each looking its rows up, whatever SQLite
      // guesses of the tables' sizes. A settled claim's refused rows are those of its session's end,
      // which every session of its window shares: looked up claim by claim only while that end is
      // not yet past `endedBefore` (never, once a claim settles after its grace); past it, they go
      // with every ended session's refused rows below, each read once, not once per claim.
      let settled = this.db.run(sql`
        delete from relays where rowid in (
          select r.rowid from ${claims} c
          cross join relays r on r.session_id = c.session_id and r.gateway_address = c.gateway_address
            and r.outcome = 'ok'
          where c.status in ('proven', 'rejected') and c.updated_at <= ${settledBefore}
          limit ${limit})`).changes;
      if (settled >= limit) return settled;
      settled += this.db.run(sql`
        delete from relays where rowid in (
          select r.rowid from ${claims} c
          cross join relays r on r.outcome = 'error' and r.session_end = c.session_end
            and r.session_id = c.session_id and r.gateway_address = c.gateway_address
          where c.status in ('proven', 'rejected') and c.updated_at <= ${settledBefore}
            and c.session_end > ${endedBefore}
          limit ${limit - settled})`).changes;
      if (settled >= limit) return settled;
      // Every row of those claims is gone: their sessions leave the claim loop's search table too.
      this.db.run(sql`
        delete from ${ledgerSessions} where exists (
          select 1 from ${claims} c
          where c.session_id = ${ledgerSessions.sessionId} and c.gateway_address = ${ledgerSessions.gatewayAddress}
            and c.status in ('proven', 'rejected') and c.updated_at <= ${settledBefore})`);
      const refused = this.db.run(sql`
        delete from relays where rowid in (
          select rowid from relays where session_end <= ${endedBefore} and outcome = 'error'
          limit ${limit - settled})`).changes;
      // An ended session with no claim and no answered row left (every answer of it was taken out
      // of the claim by a receipt of nothing) has nothing to claim: it leaves the search table,
      // which the claim loop would otherwise read on every pass, for ever. (A paid cut receipt that
      // makes one of its rows an answer again writes the session back, as it does for any.)
      this.db.run(sql`
        delete from ${ledgerSessions} where rowid in (
          select s.rowid from ${ledgerSessions} s
          where s.session_end <= ${endedBefore}
            and not exists (select 1 from ${claims} c
              where c.session_id = s.session_id and c.gateway_address = s.gateway_address)
            and not exists (select 1 from relays r
              where r.session_id = s.session_id and r.gateway_address = s.gateway_address
                and r.outcome = 'ok')
          limit ${limit})`);
      return settled + refused;
    });
  }

  /**
   * The claim leaves of one session and gateway: every answered relay's leaf hash and weight, in
   * the order the rows were written (rowid: a row written later always comes after the rows there
   * already are; the node never VACUUMs its ledger, which could renumber them). With `first`, only the first that many: the leaves a claim built from `first`
   * relays was built from, whatever was written after it (an answer that came in after the claim
   * was built belongs to no claim).
   */
  leaves(
    sessionId: string,
    gatewayAddress: string,
    first?: number,
  ): { leafHash: string; computeUnits: number }[] {
    this.#commitQueued();
    const query = this.db
      .select({ leafHash: relays.leafHash, computeUnits: relays.computeUnits })
      .from(relays)
      .where(
        and(
          eq(relays.sessionId, sessionId),
          eq(relays.gatewayAddress, gatewayAddress),
          outcomeIs("ok"),
          isNotNull(relays.leafHash),
        ),
      )
      .orderBy(sql`rowid`);
    const rows = first === undefined ? query.all() : query.limit(first).all();
    return rows.map((r) => ({ leafHash: r.leafHash as string, computeUnits: r.computeUnits }));
  }

  /**
   * {@link leaves} a page at a time, lean (raw rows, no object per leaf): at most `limit` of them
   * whose rowid is past `after`, as `[rowid, leafHash, computeUnits]`. Pages read one after the
   * other from `after = 0`, each from the last one's last rowid, give the rows `leaves` gives, a
   * row written meanwhile coming after them (see `claims/claim-leaves.ts`).
   */
  leafPage(
    sessionId: string,
    gatewayAddress: string,
    after: number,
    limit: number,
  ): [number, string, number][] {
    this.#commitQueued();
    return this.db
      .select({ rowid: sql<number>`rowid`, leafHash: relays.leafHash, computeUnits: relays.computeUnits })
      .from(relays)
      .where(
        and(
          eq(relays.sessionId, sessionId),
          eq(relays.gatewayAddress, gatewayAddress),
          outcomeIs("ok"),
          isNotNull(relays.leafHash),
          sql`rowid > ${after}`,
        ),
      )
      .orderBy(sql`rowid`)
      .limit(limit)
      .values() as [number, string, number][];
  }
}

/** The row of an admitted relay answered (see {@link RelayStore.answer}). */
const answeredRow =
  (answered: AnsweredRelay, now: number) =>
  (admitted: { readonly relay: AdmittedRelay; readonly at: number }): Values => ({
    ...rowOf(admitted.relay, admitted.at, now),
    outcome: "ok",
    errorCode: null,
    ...answered,
  });
