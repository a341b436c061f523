import {
  plainSql,
  runSteps,
  type SqlCall,
  type SqlClient,
  type SqlSteps,
  sqlAll,
  sqlGet,
  sqlRun,
} from "@pocket-ai/runtime";
import { type SQL, sql } from "drizzle-orm";
import { closeWithCharge, insertRelayRowSteps, type RelayRow } from "../db/relay-rows.js";
import {
  BUCKET_MS,
  type BucketCheck,
  bucketUsage,
  checkBuckets,
  firstBucket,
  fitsLimits,
  RATE_WINDOW_MS,
  type RateAsk,
  type RateBucket,
  type RateRefusal,
  type WindowEntry,
  windowUsage,
} from "./rate-window.js";

/** A relay's ledger row, written in the transaction that charges it (see {@link settleBudget}). */
export type LedgerRow = RelayRow;

/**
 * The persistent half of the limits, shared by every replica on the database: each key's `spent`
 * and `reserved` micro-USD, and one `key_reservations` row per reservation (the key's rate window
 * and what the relay holds back), and, for a key with a rate limit, its window summed per second
 * in `key_rate_buckets`, which every step that adds, changes or removes a reservation row of such
 * a key updates in the same transaction, with the key's row locked, so each bucket equals its rows
 * (`rebuildBuckets` starts them over when a key's limits change). Every step is one transaction; the budget is taken by a
 * conditional UPDATE that carries its own condition, and the rate window is checked while the
 * key's row is locked, so no two requests — in one process or in several — can both take the
 * last unit. Nothing is checked in process memory and then incremented.
 *
 * The transactions' bodies are `SqlSteps`, written once for both dialects: SQLite runs each
 * synchronously inside its group commit, PostgreSQL a statement at a time.
 */

/** Runs `steps` in one transaction of `db`, as a promise (for the steps off a relay's path). */
const inTransaction = <A>(db: SqlClient, steps: () => SqlSteps<A>): Promise<A> =>
  new Promise((resolve, reject) => db.transactionSteps(steps, resolve, reject));

/** Locks the key's row until the transaction ends (SQLite: the write lock is already held). */
const lockKey = (keyId: string) =>
  sqlGet<{ spent: number; reserved: number; budget: number | null } & RateLimits>(plainSql`
    update api_keys set spent_micro_usd = spent_micro_usd where id = ${keyId}
    returning spent_micro_usd as "spent", reserved_micro_usd as "reserved", budget_micro_usd as "budget",
      rpm, tpm`);

interface RateLimits {
  readonly rpm: number | null;
  readonly tpm: number | null;
}

/** Whether the key's row has a rate limit: only then are its buckets kept. */
const limited = (row: RateLimits) => row.rpm !== null || row.tpm !== null;

const second = (at: number) => Math.floor(at / BUCKET_MS);

/*
 * A window reads no reservation dated more than a window after `now`: one made while this
 * gateway's clock (or another replica's) ran minutes ahead, and was corrected since, counts in no
 * minute of it; counted, it would hold the key back for as long as the clock had been ahead, with
 * a retry delay as long. Closer ones still count: replicas' clocks differ by milliseconds, and a
 * reservation another replica dated a little after this one's `now` is in its window all the same.
 */
const lastSecond = (now: number) => second(now + RATE_WINDOW_MS);

/** The key's use of its window counted in whole buckets: one aggregate over its buckets. */
function* bucketTotal(keyId: string, now: number): SqlSteps<RateAsk> {
  const total = yield* sqlGet<RateAsk>(plainSql`
    select cast(coalesce(sum(requests), 0) as bigint) as "requests",
      cast(coalesce(sum(tokens), 0) as bigint) as "tokens"
    from key_rate_buckets where key_id = ${keyId} and "second" >= ${firstBucket(now)}
      and "second" <= ${lastSecond(now)}`);
  return total ?? { requests: 0, tokens: 0 };
}

/** The key's buckets that hold part of the window at `now`, oldest first (at most 121, see above). */
const windowBuckets = (keyId: string, now: number) =>
  sqlAll<RateBucket>(plainSql`
    select "second", requests, tokens from key_rate_buckets
    where key_id = ${keyId} and "second" >= ${firstBucket(now)} and "second" <= ${lastSecond(now)}
    order by "second"`);

/** The reservations of one bucket (one second of one key), oldest first. */
const bucketEntries = (keyId: string) => (s: number) =>
  sqlAll<WindowEntry>(plainSql`
    select at, requests, tokens from key_reservations
    where key_id = ${keyId} and at >= ${s * BUCKET_MS} and at < ${(s + 1) * BUCKET_MS} order by at, id`);

/** Adds to (or, negative, takes from) the bucket of a reservation made at `at`. */
const addToBucket = (keyId: string, at: number, add: RateAsk) =>
  sqlRun(plainSql`
    insert into key_rate_buckets (key_id, "second", requests, tokens)
    values (${keyId}, ${second(at)}, ${add.requests}, ${add.tokens})
    on conflict (key_id, "second") do update set
      requests = key_rate_buckets.requests + excluded.requests,
      tokens = key_rate_buckets.tokens + excluded.tokens`);

/**
 * Takes a reservation's share (or, negative, more tokens) out of its bucket; a bucket already
 * swept stays gone. Called with the key's row locked, as `addToBucket` is.
 */
const takeFromBucket = (keyId: string, at: number, take: RateAsk) =>
  sqlRun(plainSql`
    update key_rate_buckets set requests = requests - ${take.requests}, tokens = tokens - ${take.tokens}
    where key_id = ${keyId} and "second" = ${second(at)}`);

/** Checks `ask` against the key's window from its buckets (see `checkBuckets`): exact, and O(1) when it fits. */
function* checkRate(
  keyId: string,
  limits: { readonly rpm: number | null; readonly tpm: number | null },
  ask: RateAsk,
  now: number,
): SqlSteps<BucketCheck> {
  const total = yield* bucketTotal(keyId, now);
  if (fitsLimits(total, limits, ask)) return { used: total };
  return yield* checkBuckets(yield* windowBuckets(keyId, now), bucketEntries(keyId), limits, ask, now);
}

/**
 * A key's exact use of its window: its buckets (and the oldest bucket's rows if it is partly out)
 * for a key with a limit; its rows for a key without, which keeps no buckets.
 */
export function windowUse(db: SqlClient, keyId: string, limits: RateLimits, now: number): Promise<RateAsk> {
  return runSteps(windowUseSteps(keyId, limits, now), db);
}

function* windowUseSteps(keyId: string, limits: RateLimits, now: number): SqlSteps<RateAsk> {
  if (limited(limits)) return yield* bucketUsage(yield* windowBuckets(keyId, now), bucketEntries(keyId), now);
  const entries = yield* sqlAll<WindowEntry>(plainSql`
    select at, requests, tokens from key_reservations
    where key_id = ${keyId} and at > ${now - RATE_WINDOW_MS} and at <= ${now + RATE_WINDOW_MS}`);
  return windowUsage(entries, now);
}

/**
 * Starts a key's buckets over from its rows of the window, in the transaction that changes its
 * limits (the key's row locked): a key without limits keeps no buckets, so one that gets a limit
 * counts the minute before it, and one whose limit comes back drops buckets that went stale.
 */
export async function rebuildBuckets(tx: SqlClient, keyId: string, now: number): Promise<void> {
  await tx.run(plainSql`delete from key_rate_buckets where key_id = ${keyId}`);
  await tx.run(plainSql`
    insert into key_rate_buckets (key_id, "second", requests, tokens)
    select key_id, at / 1000, sum(requests), sum(tokens) from key_reservations
    where key_id = ${keyId} and at >= ${firstBucket(now) * BUCKET_MS}
    group by key_id, at / 1000`);
}

export interface ReserveInput {
  readonly id: string;
  readonly keyId: string;
  readonly limits: { readonly rpm: number | null; readonly tpm: number | null };
  readonly ask: RateAsk;
  readonly cost: number;
  readonly now: number;
}

/** A reservation taken; for a key with a rate limit, its window with this request in it. */
export interface Reserved {
  readonly outcome: "reserved";
  readonly window?: RateAsk;
}

/**
 * Takes one reservation: the rate check (only for keys with a limit), `reserved += cost` only if
 * the key is active and `spent + reserved + cost <= budget`, and the reservation's row, in one
 * transaction, and, for a key whose row has a limit, the reservation added to its bucket. Returns the reservation (with the window the check read, plus this
 * request: counted in whole buckets unless the check read rows, see `checkBuckets`), the refusal
 * of a rate limit, or `no-budget`. A key without limits reads no window at all. The key's row
 * decides whether it has limits, not the caller's cached copy: a limit set through another replica
 * holds at the next request here. Answers through callbacks (see `SqlCall`): on SQLite once the
 * group commit that holds the reservation committed, with no promise on the way.
 */
export function reserveBudget(
  db: SqlClient,
  input: ReserveInput,
): SqlCall<Reserved | "no-budget" | RateRefusal> {
  if (db.dialect === "postgres" && input.limits.rpm === null && input.limits.tpm === null)
    return (resolve, reject) => {
      reserveWithoutLimits(db, input).then(resolve, reject);
    };
  return reserveInTransaction(db, input);
}

/** PostgreSQL, for a key the caller knows without limits: one statement, a transaction only if need be. */
async function reserveWithoutLimits(
  db: SqlClient,
  input: ReserveInput,
): Promise<Reserved | "no-budget" | RateRefusal> {
  const taken = await reserveInOneStatement(db, input);
  if (taken !== undefined) return taken;
  // Not taken: out of budget, a key no longer active, or a key that got a rate limit since the
  // caller read it (set through another replica, within the key cache's lifetime). Only the last
  // needs the transaction below: one read tells, so a key out of budget (which a client may
  // hammer) costs a round trip more, not a transaction.
  const row = await db.get<{ rpm: number | null; tpm: number | null }>(
    plainSql`select rpm, tpm from api_keys where id = ${input.keyId}`,
  );
  if (row === undefined || (row.rpm === null && row.tpm === null)) return "no-budget";
  return new Promise(reserveInTransaction(db, input));
}

/** A rate check that failed inside a reservation's transaction, thrown to roll the budget back. */
class RateRefused {
  constructor(readonly refusal: RateRefusal) {}
}

const reserveInTransaction =
  (db: SqlClient, input: ReserveInput): SqlCall<Reserved | "no-budget" | RateRefusal> =>
  (resolve, reject) =>
    db.transactionSteps(
      () => reserveSteps(input),
      resolve,
      (e) => (e instanceof RateRefused ? resolve(e.refusal) : reject(e)),
    );

function* reserveSteps(input: ReserveInput): SqlSteps<Reserved | "no-budget" | RateRefusal> {
  const { id, keyId, limits, ask, cost, now } = input;
  let window: RateAsk | undefined;
  let checked = false;
  if (limits.rpm !== null || limits.tpm !== null) {
    // The row's limits, not the (cached) caller's: they decide the buckets too.
    const row = yield* lockKey(keyId);
    if (row === undefined) return "no-budget";
    checked = true;
    if (limited(row)) {
      const check = yield* checkRate(keyId, row, ask, now);
      if (check.refusal !== undefined) return check.refusal;
      window = { requests: check.used.requests + ask.requests, tokens: check.used.tokens + ask.tokens };
    }
  }
  const taken = yield* sqlGet<RateLimits>(plainSql`
    update api_keys set reserved_micro_usd = reserved_micro_usd + ${cost}
    where id = ${keyId} and status = 'active'
      and (budget_micro_usd is null or spent_micro_usd + reserved_micro_usd + ${cost} <= budget_micro_usd)
    returning rpm, tpm`);
  if (taken === undefined) return "no-budget";
  if (!checked && limited(taken)) {
    // The caller knew the key without a limit, but its row has one now (a change made through
    // another replica, or since the caller's key was cached): the row decides, checked now
    // that the UPDATE holds the row; a refusal rolls the budget back with the transaction.
    const check = yield* checkRate(keyId, taken, ask, now);
    if (check.refusal !== undefined) throw new RateRefused(check.refusal);
    window = { requests: check.used.requests + ask.requests, tokens: check.used.tokens + ask.tokens };
  }
  yield* sqlRun(plainSql`
    insert into key_reservations (id, key_id, at, requests, tokens, held_micro_usd, open)
    values (${id}, ${keyId}, ${now}, ${ask.requests}, ${ask.tokens}, ${cost}, 1)`);
  if (limited(taken)) yield* addToBucket(keyId, now, ask);
  const reserved: Reserved = window === undefined ? { outcome: "reserved" } : { outcome: "reserved", window };
  return reserved;
}

/**
 * Moves a reservation to `spent` and counts the relay. The charge is the actual cost, capped so
 * that `spent` never passes the budget (a reservation is the tier's price for the largest request,
 * so the cap only bites if a node reports more work than was reserved). Returns what was charged.
 *
 * With `ledger`, the relay's row (built from the charge) is inserted in the SAME transaction: a
 * charge never exists without its ledger row, nor a row without its charge, whenever the process
 * dies. A row already in the ledger (same request hash) makes the whole settlement a no-op, so a
 * relay is charged at most once.
 *
 * A reservation no longer open was settled already (a try whose commit went unacknowledged) or
 * given back by the sweep while its relay still ran. With `ledger`, the relay is then charged and
 * recorded all the same, unless its row is in the ledger already (see {@link chargeLate}; one more
 * step, only then); `onLate` hears of such a charge. Without `ledger` nothing tells the two apart,
 * and 0 is charged.
 *
 * Answers through callbacks (see `SqlCall`): on SQLite once the group commit that holds the charge
 * and its ledger row committed, with no promise on the way.
 */
export function settleBudget(
  db: SqlClient,
  settled: {
    id: string;
    keyId: string;
    reserved: number;
    /** The tokens the reservation holds in its row and bucket (its estimate), replaced by `tokens`. */
    reservedTokens: number;
    actual: number;
    requests: number;
    tokens: number;
    now: number;
  },
  ledger?: (charged: number) => LedgerRow,
  onLate?: (keyId: string, charged: number) => void,
): SqlCall<number> {
  if (db.dialect === "postgres")
    return (resolve, reject) => {
      settleInOneStatement(db, settled, ledger, onLate).then(resolve, reject);
    };
  return (resolve, reject) =>
    db.transactionSteps(
      () => settleSteps(settled, ledger),
      ({ charged, late }) => {
        // Told once the transaction committed, not from inside it.
        if (late) onLate?.(settled.keyId, charged);
        resolve(charged);
      },
      reject,
    );
}

/** SQLite: {@link settleBudget}'s transaction; `late` when it charged a reservation found not open. */
function* settleSteps(
  settled: Parameters<typeof settleBudget>[1],
  ledger: ((charged: number) => LedgerRow) | undefined,
): SqlSteps<{ readonly charged: number; readonly late: boolean }> {
  const { id, keyId, reserved, actual } = settled;
  const closed = yield* sqlGet<{ at: number }>(plainSql`
    update key_reservations set open = 0, held_micro_usd = 0, tokens = ${settled.tokens}
    where id = ${id} and open = 1 returning at`);
  if (closed === undefined) {
    if (ledger === undefined) return { charged: 0, late: false };
    const charged = yield* chargeLate(settled, ledger);
    return { charged: charged ?? 0, late: charged !== undefined };
  }
  // The key's row before its bucket, as in every step: two steps never wait on each other. The
  // whole cost fits the budget almost always (the reservation held the tier's most): then one
  // UPDATE checks that it fits and charges it; only a charge the cap bites reads the row first.
  let charged = actual;
  let key: RateLimits | undefined = yield* sqlGet<RateLimits>(plainSql`
    update api_keys set reserved_micro_usd = reserved_micro_usd - ${reserved},
      spent_micro_usd = spent_micro_usd + ${actual}, requests = requests + ${settled.requests},
      tokens = tokens + ${settled.tokens}, last_used_at = ${settled.now}
    where id = ${keyId} and (budget_micro_usd is null
      or spent_micro_usd + reserved_micro_usd - ${reserved} + ${actual} <= budget_micro_usd)
    returning rpm, tpm`);
  if (key === undefined) {
    const held = yield* lockKey(keyId);
    if (held === undefined) return { charged: 0, late: false };
    charged =
      held.budget === null
        ? actual
        : Math.min(actual, Math.max(0, held.budget - held.spent - held.reserved + reserved));
    yield* sqlRun(plainSql`
      update api_keys set reserved_micro_usd = reserved_micro_usd - ${reserved},
        spent_micro_usd = spent_micro_usd + ${charged}, requests = requests + ${settled.requests},
        tokens = tokens + ${settled.tokens}, last_used_at = ${settled.now}
      where id = ${keyId}`);
    key = held;
  }
  const tokens = settled.reservedTokens - settled.tokens;
  if (tokens !== 0 && limited(key)) yield* takeFromBucket(keyId, closed.at, { requests: 0, tokens });
  // Throwing rolls the charge back with the row: a duplicate relay is never charged twice.
  if (ledger !== undefined && (yield* insertRelayRowSteps(ledger(charged))) !== 1)
    throw new DuplicateLedgerRow();
  return { charged, late: false };
}

/** What a settled relay's key was charged: the columns of its row that the charge reads. */
type HeldKey = { readonly spent: number; readonly reserved: number; readonly budget: number | null };

/**
 * A relay whose hold was given back before it settled is charged as its hold would have let it
 * be: in full up to the cost reserved for it, even when the budget it held went to other relays
 * meanwhile (the work was done and the answer delivered; `spent` then passes the budget by at most
 * that reservation), and above the reservation only what the budget has left, as any relay.
 * Nothing of the hold is given back again: the release did that.
 */
const lateCharge = (key: HeldKey, settled: { readonly reserved: number; readonly actual: number }) =>
  key.budget === null
    ? settled.actual
    : Math.min(settled.actual, Math.max(settled.reserved, key.budget - key.spent - key.reserved));

/**
 * SQLite, in the settlement's transaction, for a reservation found not open: the relay's row goes
 * into the ledger, and only if it was not there yet (its settlement committed before) is the key
 * charged ({@link lateCharge}) and the relay counted. Its rate window needs nothing: the sweep
 * gives back only holds older than any window, and took the reservation out of its bucket. The
 * charge, or `undefined` when the row was there (or the key is gone): nothing was changed then.
 */
function* chargeLate(
  settled: Parameters<typeof settleBudget>[1],
  ledger: (charged: number) => LedgerRow,
): SqlSteps<number | undefined> {
  const key = yield* lockKey(settled.keyId);
  if (key === undefined) return undefined;
  const charged = lateCharge(key, settled);
  if ((yield* insertRelayRowSteps(ledger(charged))) !== 1) return undefined;
  yield* sqlRun(plainSql`
    update api_keys set spent_micro_usd = spent_micro_usd + ${charged},
      requests = requests + ${settled.requests}, tokens = tokens + ${settled.tokens},
      last_used_at = ${settled.now}
    where id = ${settled.keyId}`);
  return charged;
}

/*
 * PostgreSQL: a reservation of a key the caller knows without limits, and every settlement, as ONE
 * statement of data-modifying `with` queries, the same steps in the same order as the
 * transactions above (the key's row before its bucket). A transaction of four to six statements
 * was as many round trips to the server, each with the key's row locked; one statement is one round
 * trip, and the lock is held only while it runs. A statement is atomic: it commits whole or not at all.
 */

/**
 * {@link reserveBudget} in one statement, for a key whose cached limits are none (no rate check to
 * read). Only a row without limits is taken: one that has a limit now (changed through another
 * replica) is left to the transaction, which checks it. `undefined` when nothing was taken.
 */
async function reserveInOneStatement(db: SqlClient, input: ReserveInput): Promise<Reserved | undefined> {
  const { id, keyId, ask, cost, now } = input;
  const taken = await db.get<{ taken: number }>(plainSql`
    with taken as (
      update api_keys set reserved_micro_usd = reserved_micro_usd + ${cost}
      where id = ${keyId} and status = 'active' and rpm is null and tpm is null
        and (budget_micro_usd is null or spent_micro_usd + reserved_micro_usd + ${cost} <= budget_micro_usd)
      returning 1 as "taken"
    ), booked as (
      insert into key_reservations (id, key_id, at, requests, tokens, held_micro_usd, open)
      select ${id}, ${keyId}, ${now}::bigint, ${ask.requests}::bigint, ${ask.tokens}::bigint, ${cost}::bigint, 1
      from taken
    )
    select "taken" from taken`);
  return taken === undefined ? undefined : { outcome: "reserved" };
}

/**
 * {@link settleBudget} in one statement; a duplicate ledger row rolls all of it back. A reservation
 * found not open closes nothing and charges nothing here ({@link chargeLateInOneStatement} follows).
 */
async function settleInOneStatement(
  db: SqlClient,
  settled: Parameters<typeof settleBudget>[1],
  ledger: ((charged: number) => LedgerRow) | undefined,
  onLate: ((keyId: string, charged: number) => void) | undefined,
): Promise<number> {
  const { id, keyId, reserved, actual, tokens } = settled;
  // The bucket's correction is an upsert, not an UPDATE: the statement reads tables as they were
  // when it started, and a limit change it waited for on the key's lock may have rebuilt the
  // bucket since; the conflict finds the rebuilt row all the same. Only a bucket still in the
  // window: a limited key has one for each of its reservations there.
  const statement = closeWithCharge(
    plainSql`
      with closed as (
        update key_reservations set open = 0, held_micro_usd = 0, tokens = ${tokens}
        where id = ${id} and open = 1 returning at
      ), held as (
        select spent_micro_usd as spent, reserved_micro_usd as reserved, budget_micro_usd as budget, rpm, tpm
        from api_keys where id = ${keyId} and exists (select 1 from closed) for update
      ), charge as (
        select rpm, tpm, case when budget is null then ${actual}::bigint
          else least(${actual}::bigint, greatest(0, budget - spent - reserved + ${reserved}::bigint)) end as charged
        from held
      ), bucket as (
        insert into key_rate_buckets (key_id, "second", requests, tokens)
        select ${keyId}, at / ${BUCKET_MS}::bigint, 0, ${tokens - settled.reservedTokens}::bigint from closed
        where ${tokens - settled.reservedTokens}::bigint <> 0 and at / ${BUCKET_MS}::bigint >= ${firstBucket(settled.now)}::bigint
          and exists (select 1 from charge where rpm is not null or tpm is not null)
        on conflict (key_id, "second") do update set tokens = key_rate_buckets.tokens + excluded.tokens
      ), spend as (
        update api_keys set reserved_micro_usd = reserved_micro_usd - ${reserved}::bigint,
          spent_micro_usd = spent_micro_usd + (select charged from charge),
          requests = requests + ${settled.requests}::bigint, tokens = tokens + ${tokens}::bigint,
          last_used_at = ${settled.now}::bigint
        where id = ${keyId} and exists (select 1 from charge)
      )`,
    ledger?.(actual),
  );
  let charge: { charged: number } | undefined;
  try {
    charge = await db.get<{ charged: number }>(statement);
  } catch (e) {
    if (isDuplicateRow(e)) throw new DuplicateLedgerRow();
    throw e;
  }
  if (charge !== undefined) return charge.charged;
  if (ledger === undefined) return 0;
  const late = await chargeLateInOneStatement(db, settled, ledger);
  if (late !== undefined) onLate?.(keyId, late);
  return late ?? 0;
}

const isDuplicateRow = (e: unknown) => (e as { constraint?: unknown }).constraint === "relays_pkey";

/**
 * PostgreSQL: {@link chargeLate} in one statement, the key's row locked before the ledger row is
 * written. A row already in the ledger fails the statement (`relays_pkey`), which rolls the charge
 * back with it: `undefined`, as for a key that is gone.
 */
async function chargeLateInOneStatement(
  db: SqlClient,
  settled: Parameters<typeof settleBudget>[1],
  ledger: (charged: number) => LedgerRow,
): Promise<number | undefined> {
  const { keyId, reserved, actual, tokens } = settled;
  const statement = closeWithCharge(
    plainSql`
      with held as (
        select spent_micro_usd as spent, reserved_micro_usd as reserved, budget_micro_usd as budget
        from api_keys where id = ${keyId} for update
      ), charge as (
        select case when budget is null then ${actual}::bigint
          else least(${actual}::bigint, greatest(${reserved}::bigint, budget - spent - reserved)) end as charged
        from held
      ), spend as (
        update api_keys set spent_micro_usd = spent_micro_usd + (select charged from charge),
          requests = requests + ${settled.requests}::bigint, tokens = tokens + ${tokens}::bigint,
          last_used_at = ${settled.now}::bigint
        where id = ${keyId} and exists (select 1 from charge)
      )`,
    ledger(actual),
  );
  try {
    return (await db.get<{ charged: number }>(statement))?.charged;
  } catch (e) {
    if (isDuplicateRow(e)) return undefined;
    throw e;
  }
}

/** Gives a reservation back: nothing is charged, and it leaves the rate window. */
export function releaseBudget(
  db: SqlClient,
  r: { id: string; keyId: string; reserved: number },
): Promise<void> {
  return inTransaction(db, function* () {
    const removed = yield* sqlGet<{ at: number; requests: number; tokens: number }>(
      plainSql`delete from key_reservations where id = ${r.id} and open = 1 returning at, requests, tokens`,
    );
    if (removed !== undefined) {
      const key = yield* sqlGet<RateLimits>(
        plainSql`update api_keys set reserved_micro_usd = reserved_micro_usd - ${r.reserved} where id = ${r.keyId}
          returning rpm, tpm`,
      );
      if (key !== undefined && limited(key)) yield* takeFromBucket(r.keyId, removed.at, removed);
    }
  });
}

/**
 * Closes a reservation without a charge but leaves its request in the key's rate window: a refusal
 * that cost the gateway work (an upload decoded) counts against the key's requests per minute, so
 * a key cannot have that work done over and over for free. Its tokens leave the window (none was
 * relayed), its hold is given back, and the key's totals are not touched. The sweep removes the
 * row once it left the window, as a settled one.
 */
export function closeUncharged(
  db: SqlClient,
  r: { id: string; keyId: string; reserved: number; reservedTokens: number },
): Promise<void> {
  return inTransaction(db, function* () {
    const closed = yield* sqlGet<{ at: number }>(plainSql`
      update key_reservations set open = 0, held_micro_usd = 0, tokens = 0
      where id = ${r.id} and open = 1 returning at`);
    if (closed === undefined) return;
    // The key's row before its bucket, as in every step: two steps never wait on each other.
    const key = yield* sqlGet<RateLimits>(
      plainSql`update api_keys set reserved_micro_usd = reserved_micro_usd - ${r.reserved} where id = ${r.keyId}
        returning rpm, tpm`,
    );
    if (key !== undefined && limited(key) && r.reservedTokens !== 0)
      yield* takeFromBucket(r.keyId, closed.at, { requests: 0, tokens: r.reservedTokens });
  });
}

/**
 * The least id of a reservation made at `at`: an id starts with its time, 12 hex digits of
 * milliseconds (`reservationId` in `limits.ts`, which names the time its row's `at` holds), so the
 * primary key, which every reservation writes anyway, orders the rows by time.
 */
const idsFrom = (at: number) => `res_${Math.max(0, Math.floor(at)).toString(16).padStart(12, "0")}`;

/** Rows one of the sweep's statements takes at most: none holds SQLite's one thread (nor, deleting, its write lock) for long. */
const SWEEP_BATCH = 1_000;

/**
 * Runs `batch` over the primary key's ranges that hold the rows older than `older`, one batch
 * after another, each from the id after the last one the previous batch took (`batch` returns
 * those, in the database's order). The table keeps no index on `at`, which every reservation would
 * write; its ids start with their time instead, so the rows older than `older` are those with
 * ids before `older`'s, and a sweep reads only those (rows it gives back or drops, and relays
 * running since before `older`), never the last minute's, the bulk of the table, whose ids lie
 * between `older`'s and a window past `now`. Ids after that are read too: no reservation is made
 * there (a clock's error aside), but an id that does not start with its time (a reservation of a
 * version before time-ordered ids, or of another shape) may sort there; one that sorts between
 * is read a sweep or so after `older` passed it.
 */
async function sweepOlder(
  older: number,
  now: number,
  batch: (range: SQL) => Promise<readonly string[]>,
): Promise<void> {
  const ranges: readonly [string | null, SQL][] = [
    [null, sql`id < ${idsFrom(older)}`],
    [idsFrom(now + RATE_WINDOW_MS), sql`1 = 1`],
  ];
  for (const [from, bound] of ranges) {
    let after = from;
    for (;;) {
      const ids = await batch(after === null ? bound : sql`${bound} and id > ${after}`);
      if (ids.length < SWEEP_BATCH) break;
      after = ids[ids.length - 1] ?? null;
    }
  }
}

/**
 * Gives back every reservation still open since before `before` (a crashed process's relays never
 * settle), drops the buckets that left the rate window, and the settled rows of those buckets (a
 * bucket's rows stay while it counts: a refusal may read them). Returns how many were given back.
 * Its cost grows with the rows it gives back or drops, not with the table (see {@link sweepOlder}).
 */
export async function releaseStaleReservations(db: SqlClient, before: number, now: number): Promise<number> {
  let released = 0;
  await sweepOlder(before, now, async (range) => {
    const stale = await db.all<{ id: string; keyId: string; held: number }>(sql`
      select id, key_id as "keyId", held_micro_usd as "held" from key_reservations
      where ${range} and at < ${before} and open = 1 order by id limit ${SWEEP_BATCH}`);
    for (const r of stale) {
      await releaseBudget(db, { id: r.id, keyId: r.keyId, reserved: r.held });
      released++;
    }
    return stale.map((r) => r.id);
  });
  const first = firstBucket(now);
  await db.run(plainSql`delete from key_rate_buckets where "second" < ${first}`);
  const cut = first * BUCKET_MS;
  await sweepOlder(cut, now, async (range) => {
    // The batch's ids, then those ids: a range of ids to delete would be planned from the table's
    // statistics (PostgreSQL), and ones taken minutes ago put every row in it (a whole-table scan).
    const settled = await db.all<{ id: string }>(sql`
      select id from key_reservations where ${range} and at < ${cut} and open = 0
      order by id limit ${SWEEP_BATCH}`);
    const ids = settled.map((r) => r.id);
    // A list drizzle expands itself: joining 1,000 fragments costs more than the delete.
    if (ids.length > 0)
      await db.run(sql`delete from key_reservations where id in ${ids} and at < ${cut} and open = 0`);
    return ids;
  });
  return released;
}

/**
 * At start-up of a gateway that owns its SQLite file alone, no relay is in flight: every hold
 * left in the file is from a crash (including holds of a version that kept no reservation rows).
 */
export function releaseAllReservations(
  db: SqlClient,
): Promise<{ readonly reservations: number; readonly keys: number }> {
  return db.transaction(async (tx) => ({
    reservations: await tx.run(
      plainSql`update key_reservations set open = 0, held_micro_usd = 0 where open = 1`,
    ),
    // Keys whose held micro-USD went back (a key holds several reservations; one without a budget holds none).
    keys: await tx.run(plainSql`update api_keys set reserved_micro_usd = 0 where reserved_micro_usd <> 0`),
  }));
}

/** The relay's row was already in the ledger; its settlement was rolled back. */
export class DuplicateLedgerRow extends Error {
  constructor() {
    super("the relay is already in the ledger");
  }
}
