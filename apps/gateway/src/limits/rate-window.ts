/** One reservation's share of a key's window; `tokens` is the actual count once settled. */
export interface WindowEntry {
  readonly at: number;
  readonly requests: number;
  readonly tokens: number;
}

export interface RateAsk {
  readonly requests: number;
  readonly tokens: number;
}

export interface RateRefusal {
  readonly limit: "rpm" | "tpm";
  readonly retryAfterMs: number;
  readonly detail: string;
}

/** The rate windows' length: RPM and TPM are per 60 s, sliding. */
export const RATE_WINDOW_MS = 60_000;

/**
 * The rate windows' buckets: each key's requests and tokens are also summed per second of `at`
 * (`key_rate_buckets`), so that a reservation reads at most 61 buckets instead of every
 * reservation of the last minute.
 */
export const BUCKET_MS = 1_000;

/** A key's requests and tokens of the reservations whose `at` falls in second `second`. */
export interface RateBucket {
  readonly second: number;
  readonly requests: number;
  readonly tokens: number;
}

/**
 * The oldest bucket that still holds part of the window at `now`: the one holding its first
 * millisecond, `now - windowMs + 1`. Buckets from this one on are "in the window"; only this one
 * may also hold entries that already left it.
 */
export const firstBucket = (now: number, windowMs = RATE_WINDOW_MS): number =>
  Math.floor((now - windowMs + 1) / BUCKET_MS);

/** An entry of the window, or a whole bucket standing as one entry at its last millisecond. */
type Counted = WindowEntry & { readonly bucket?: number };

/**
 * A bucket as one entry at its last millisecond: it counts while any part of it is in the window
 * (never less than its entries do), and leaves the window with the newest entry it can hold.
 */
const asEntry = (b: RateBucket): Counted => ({
  at: b.second * BUCKET_MS + BUCKET_MS - 1,
  requests: b.requests,
  tokens: b.tokens,
  bucket: b.second,
});

/** The first limit `ask` does not fit, with the entry whose leaving makes room (none: too large). */
function findRefusal(
  entries: readonly Counted[],
  limits: { readonly rpm: number | null; readonly tpm: number | null },
  ask: RateAsk,
  now: number,
  windowMs: number,
): { readonly refusal: RateRefusal; readonly by?: Counted } | undefined {
  const live = entries.filter((e) => e.at + windowMs > now);
  for (const limit of ["rpm", "tpm"] as const) {
    const max = limits[limit];
    if (max === null) continue;
    const field = limit === "rpm" ? "requests" : "tokens";
    const used = live.reduce((n, e) => n + e[field], 0);
    const excess = used + ask[field] - max;
    if (excess <= 0) continue;
    if (ask[field] > max) {
      const detail = `the request needs ${ask[field]} ${field}; the key allows ${max} per minute`;
      return { refusal: { limit, retryAfterMs: windowMs, detail } };
    }
    let freed = 0;
    for (const e of live) {
      freed += e[field];
      if (freed >= excess) {
        const refusal = {
          limit,
          retryAfterMs: Math.max(1, e.at + windowMs - now),
          detail: `the key's ${limit.toUpperCase()} limit of ${max} is reached`,
        };
        return { refusal, by: e };
      }
    }
  }
  return undefined;
}

/**
 * Whether `ask` fits a key's sliding windows (`null` = unlimited), given the key's entries still
 * inside the window, oldest first; else which limit refuses and how long until enough of the
 * window has passed. Pure: the caller holds the key's row lock while it checks and records, so two
 * concurrent requests — on one replica or several — cannot both take the last slot.
 */
export function checkWindow(
  entries: readonly WindowEntry[],
  limits: { readonly rpm: number | null; readonly tpm: number | null },
  ask: RateAsk,
  now: number,
  windowMs = RATE_WINDOW_MS,
): RateRefusal | undefined {
  return findRefusal(entries, limits, ask, now, windowMs)?.refusal;
}

/** Whether `used + ask` stays within every limit the key has. */
export const fitsLimits = (
  used: RateAsk,
  limits: { readonly rpm: number | null; readonly tpm: number | null },
  ask: RateAsk,
): boolean =>
  (limits.rpm === null || used.requests + ask.requests <= limits.rpm) &&
  (limits.tpm === null || used.tokens + ask.tokens <= limits.tpm);

/** The answer of {@link checkBuckets}: a refusal, or the window's use before `ask`. */
export type BucketCheck =
  | { readonly refusal: RateRefusal }
  | { readonly refusal?: undefined; readonly used: RateAsk };

/**
 * {@link checkWindow} from a key's buckets (from {@link firstBucket} on, oldest first), reading
 * the entries of a bucket (`entriesOf`, oldest first) only where a whole bucket cannot decide.
 * Its answer is checkWindow's over all the entries, exactly. A bucket counts at least what its
 * entries in the window do (only the oldest may hold some that already left it, see
 * {@link firstBucket}), so a request that fits the buckets fits the window, and no entry is read.
 * A refusal names the entry whose leaving frees enough room; where that is a whole bucket, its own
 * entries replace it and the check runs again. Counts before a bucket are the same in both views,
 * except for what the oldest holds beyond the window, which adds as much to the excess as to the
 * oldest bucket: so the bucket named is the one the exact check would name, or the oldest, whose
 * expired entries then drop out. At most two buckets' entries are read, and only to refuse or to
 * admit what the whole oldest bucket refused.
 * `used` counts whole buckets where no entry was read: never less than the window's use, and at
 * most the oldest bucket's entries that already left it more.
 * A generator over `entriesOf`'s own steps (the statements that read a bucket's entries, see
 * `SqlSteps`), so the check runs inside a transaction of either kind.
 */
export function* checkBuckets<Step>(
  buckets: readonly RateBucket[],
  entriesOf: (second: number) => Generator<Step, readonly WindowEntry[], unknown>,
  limits: { readonly rpm: number | null; readonly tpm: number | null },
  ask: RateAsk,
  now: number,
  windowMs = RATE_WINDOW_MS,
): Generator<Step, BucketCheck, unknown> {
  let entries: readonly Counted[] = buckets.map(asEntry);
  for (;;) {
    const found = findRefusal(entries, limits, ask, now, windowMs);
    if (found === undefined) return { used: windowUsage(entries, now, windowMs) };
    const second = found.by?.bucket;
    if (second === undefined) return { refusal: found.refusal };
    const own = yield* entriesOf(second);
    entries = entries.flatMap((e) => (e.bucket === second ? own : [e]));
  }
}

/** A key's exact use of its window from its buckets, reading the oldest bucket's entries if it is partly out. */
export function* bucketUsage<Step>(
  buckets: readonly RateBucket[],
  entriesOf: (second: number) => Generator<Step, readonly WindowEntry[], unknown>,
  now: number,
  windowMs = RATE_WINDOW_MS,
): Generator<Step, RateAsk, unknown> {
  const oldest = buckets[0];
  const partial = oldest !== undefined && oldest.second * BUCKET_MS < now - windowMs + 1;
  const head = partial ? yield* entriesOf(oldest.second) : [];
  return windowUsage([...head, ...buckets.slice(partial ? 1 : 0).map(asEntry)], now, windowMs);
}

/** Requests and tokens of the entries inside the window. */
export function windowUsage(
  entries: readonly WindowEntry[],
  now: number,
  windowMs = RATE_WINDOW_MS,
): RateAsk {
  const live = entries.filter((e) => e.at + windowMs > now);
  return {
    requests: live.reduce((n, e) => n + e.requests, 0),
    tokens: live.reduce((n, e) => n + e.tokens, 0),
  };
}
