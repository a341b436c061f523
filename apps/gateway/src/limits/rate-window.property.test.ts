import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BUCKET_MS,
  bucketUsage,
  checkBuckets,
  checkWindow,
  firstBucket,
  fitsLimits,
  RATE_WINDOW_MS,
  type RateBucket,
  type WindowEntry,
  windowUsage,
} from "./rate-window.js";

/** A key's reservations over about two minutes around `now`, some in the same millisecond or second. */
const Scenario = fc.record({
  now: fc.integer({ min: 1_800_000_000_000, max: 1_800_000_100_000 }),
  entries: fc.array(
    fc.record({
      ago: fc.oneof(
        fc.integer({ min: -2_000, max: 125_000 }),
        fc.constantFrom(0, 1, 999, 1_000, 59_000, 59_999, 60_000, 60_001, 60_999, 61_000),
      ),
      requests: fc.integer({ min: 0, max: 3 }),
      tokens: fc.integer({ min: 0, max: 2_000 }),
    }),
    { maxLength: 80 },
  ),
  rpm: fc.option(fc.integer({ min: 1, max: 60 })),
  tpm: fc.option(fc.integer({ min: 1, max: 40_000 })),
  ask: fc.record({ requests: fc.integer({ min: 1, max: 2 }), tokens: fc.integer({ min: 0, max: 5_000 }) }),
});

const secondOf = (at: number) => Math.floor(at / BUCKET_MS);

/** The entries oldest first (as the database orders them), their buckets, and a reader that counts reads. */
function layout(now: number, raw: readonly { ago: number; requests: number; tokens: number }[]) {
  const entries: WindowEntry[] = raw
    .map((e) => ({ at: now - e.ago, requests: e.requests, tokens: e.tokens }))
    .sort((a, b) => a.at - b.at);
  const sums = new Map<number, RateBucket>();
  for (const e of entries) {
    const s = secondOf(e.at);
    const b = sums.get(s) ?? { second: s, requests: 0, tokens: 0 };
    sums.set(s, { second: s, requests: b.requests + e.requests, tokens: b.tokens + e.tokens });
  }
  const buckets = [...sums.values()]
    .filter((b) => b.second >= firstBucket(now))
    .sort((a, b) => a.second - b.second);
  const read: number[] = [];
  // A generator, as a transaction's statements are, but reading from memory: it yields nothing.
  const entriesOf = function* (second: number) {
    read.push(second);
    return entries.filter((e) => secondOf(e.at) === second);
  };
  return { entries, buckets, entriesOf, read };
}

/** The answer of a check whose entries are read from memory: it never yields. */
const answer = <A>(check: Generator<never, A, unknown>): A => {
  const next = check.next();
  if (!next.done) throw new Error("a check read from memory yielded");
  return next.value;
};

describe("the window from 1 s buckets against the window from every reservation", () => {
  it("refuses exactly when the rows refuse, with the same limit and retry delay, reading at most two buckets' rows", async () => {
    await fc.assert(
      fc.asyncProperty(Scenario, async ({ now, entries: raw, rpm, tpm, ask }) => {
        const limits = { rpm, tpm };
        const { entries, buckets, entriesOf, read } = layout(now, raw);
        const exact = checkWindow(entries, limits, ask, now);
        const bucketed = answer(checkBuckets(buckets, entriesOf, limits, ask, now));
        expect(bucketed.refusal).toEqual(exact);
        expect(read.length).toBeLessThanOrEqual(2);
        if (bucketed.refusal === undefined) {
          const used = windowUsage(entries, now);
          // Whole buckets: never less than the window, at most the oldest bucket's expired rows more.
          const expired = entries.filter(
            (e) => secondOf(e.at) === firstBucket(now) && e.at <= now - RATE_WINDOW_MS,
          );
          const slack = windowUsage(expired, now - 1_000_000);
          expect(bucketed.used.requests).toBeGreaterThanOrEqual(used.requests);
          expect(bucketed.used.tokens).toBeGreaterThanOrEqual(used.tokens);
          expect(bucketed.used.requests).toBeLessThanOrEqual(used.requests + slack.requests);
          expect(bucketed.used.tokens).toBeLessThanOrEqual(used.tokens + slack.tokens);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("a request that fits the buckets' total is admitted without reading a row", async () => {
    await fc.assert(
      fc.asyncProperty(Scenario, async ({ now, entries: raw, rpm, tpm, ask }) => {
        const limits = { rpm, tpm };
        const { entries, buckets, entriesOf, read } = layout(now, raw);
        const total = {
          requests: buckets.reduce((n, b) => n + b.requests, 0),
          tokens: buckets.reduce((n, b) => n + b.tokens, 0),
        };
        fc.pre(fitsLimits(total, limits, ask));
        expect(answer(checkBuckets(buckets, entriesOf, limits, ask, now))).toEqual({ used: total });
        expect(read).toEqual([]);
        expect(checkWindow(entries, limits, ask, now)).toBeUndefined();
      }),
      { numRuns: 1_000 },
    );
  });

  it("bucketUsage is the exact window, reading only the oldest bucket's rows", async () => {
    await fc.assert(
      fc.asyncProperty(Scenario, async ({ now, entries: raw }) => {
        const { entries, buckets, entriesOf, read } = layout(now, raw);
        expect(answer(bucketUsage(buckets, entriesOf, now))).toEqual(windowUsage(entries, now));
        expect(read.every((s) => s === firstBucket(now))).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe("bucket edges", () => {
  it("the oldest bucket is the one holding the window's first millisecond", () => {
    expect(firstBucket(60_999)).toBe(1); // the window is (999, 60_999]: ms 1_000 on, bucket 1
    expect(firstBucket(61_000)).toBe(1); // (1_000, 61_000]: ms 1_001 is in bucket 1, partly out
    expect(firstBucket(61_999)).toBe(2);
  });

  it("an entry leaves at 60 s exactly although its bucket is still read", async () => {
    const entries = [{ at: 500, requests: 1, tokens: 10 }];
    const buckets = [{ second: 0, requests: 1, tokens: 10 }];
    // biome-ignore lint/correctness/useYield: rows from memory, as a transaction's steps would read them
    const rows = function* () {
      return entries;
    };
    const limits = { rpm: 1, tpm: null };
    const one = { requests: 1, tokens: 0 };
    expect(answer(checkBuckets(buckets, rows, limits, one, 60_499))).toMatchObject({
      refusal: { limit: "rpm", retryAfterMs: 1 },
    });
    expect(answer(checkBuckets(buckets, rows, limits, one, 60_500))).toEqual({
      used: { requests: 0, tokens: 0 },
    });
  });
});
