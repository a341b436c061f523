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

/** One scoreboard fetch. */
export const scoreboardCallTimeout = Duration.seconds(10);

/** Health probes that fail this many times in a row mark a node unhealthy (one success heals it). */
export const unhealthyAfterFailures = 2;

/** A node that stops announcing stays a candidate for this many announce periods. */
export const announceGracePeriods = 3;

/** Weight of the newest observation in the latency and error-rate moving averages. */
export const ewmaAlpha = 0.2;
