import { Duration, Schedule } from "effect";

/**
 * Every schedule and fixed timeout of the routing side, named, in one place. Relay retries are not
 * a `Schedule`: a failed attempt is retried at once on another node (see `relay/dispatcher-live.ts`),
 * bounded by `retry.maxAttempts`.
 */

/** Probing each node's `health`: every `healthCheckMs`, from the layer's start. */
export const healthProbeSchedule = (everyMs: number) => Schedule.spaced(Duration.millis(everyMs));

/** Polling the evaluator's scoreboard: every `pollMs`. */
export const scoresPollSchedule = (everyMs: number) => Schedule.spaced(Duration.millis(everyMs));

/** One `health` call to a node; a node slower than this is unhealthy. */
export const healthCallTimeout = Duration.seconds(3);

/** One delivery of a cut stream's receipt to its node. */
export const cutReceiptCallTimeout = healthCallTimeout;

/**
 * How long after `failedAttempts` deliveries of a cut stream's receipt went unanswered the next
 * one is tried: 200 ms, doubling, at most 30 s apart, until the receipt expires (its session's
 * claim may be built). The first retries come quickly: a node answers `UNKNOWN_RELAY` until the
 * stream's row has joined its ledger, which takes milliseconds.
 */
export const cutReceiptRetryDelayMs = (failedAttempts: number): number =>
  Math.min(30_000, 200 * 2 ** Math.min(Math.max(0, failedAttempts - 1), 16));

/**
 * How long a node may answer a receipt `UNKNOWN_RELAY` (no record of the relay) before the gateway
 * takes that for final: longer than any relay of a tier runs by default, so a relay the node still
 * serves, or has yet to commit, is recorded by then; a node that still has no record never got
 * the request (an attempt given up on before it arrived), and holds no leaf of it.
 */
export const cutReceiptUnknownPatienceMs = 10 * 60_000;

/**
 * How long a delivery holds the receipts it took (their rows' `next_attempt_at`): well past one
 * call's time limit, so no other replica takes a receipt while a delivery of it runs, and short
 * enough that one a stopped replica held is soon taken by another.
 */
export const cutReceiptLeaseMs = 30_000;

/**
 * How often each gateway looks for receipts due (besides right after it writes one, and when a
 * retry it scheduled comes due): what other replicas, or a stopped process, left.
 */
export const cutReceiptPollEvery = Duration.seconds(5);

/** One scoreboard fetch. */
export const scoreboardCallTimeout = Duration.seconds(10);

/** Health probes that fail this many times in a row mark a node unhealthy (one success heals it). */
export const unhealthyAfterFailures = 2;

/** A node that stops announcing stays a candidate for this many announce periods. */
export const announceGracePeriods = 3;

/** Weight of the newest observation in the latency and error-rate moving averages. */
export const ewmaAlpha = 0.2;

/**
 * How often each gateway takes the probe application pool from the database (besides right after
 * it changes the pool itself): how long an application another replica minted or let go takes to
 * reach this one.
 */
export const probePoolSyncEvery = Duration.seconds(2);
