import { Duration, Schedule } from "effect";

/** Every retry, pacing and polling schedule of the evaluator, named, in one place. */

/**
 * A probe that got no answer from the gateway itself (a connection refused or reset, a stream cut
 * without the gateway's error event, a proxy's uncoded server error: `probe-error-map.ts`) is sent
 * again twice, after about 250 and 500 ms, jittered: one dropped connection must not stop a round.
 * Only when the gateway stays out of reach does the run stop (`gateway-watch.ts`). A coded answer
 * of the gateway is never sent again: it is recorded as it is (and counts against the node unless
 * it is one of the gateway's own codes).
 */
export const unansweredProbeRetry = Schedule.exponential(Duration.millis(250), 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(2)),
);

/**
 * A probe the gateway refused for a passing limit of the evaluator's key (`RATE_LIMITED`: its rpm
 * or tpm window is full) is sent again after the `Retry-After` the gateway gave, at most this many
 * times and only when the delay is at most `RETRY_AFTER_MAX_MS` (a rate window's length): a probe
 * still refused stops the run (`gateway-watch.ts`), never records an excused probe in its place.
 */
export const RETRY_AFTER_TRIES = 3;
export const RETRY_AFTER_MAX_MS = 60_000;

/**
 * The gap after one round of the long-running evaluator ends and before the next starts, as a
 * share of `roundIntervalMs`: drawn anew for each round, uniform between these bounds, so on
 * average the interval. A fixed gap told every node when its next run would come, and a node that
 * serves customers a cheap model could serve them the good one only around that time (its organic
 * samples are the customers' relays of the minutes before its run).
 */
export const ROUND_GAP_SHARE = { min: 0.5, max: 1.5 } as const;

/** How often the long-running evaluator starts a new round of runs over every node (see {@link ROUND_GAP_SHARE}). */
export function roundSchedule(intervalMs: number) {
  return Schedule.spaced(Duration.millis(intervalMs)).pipe(Schedule.jitteredWith(ROUND_GAP_SHARE));
}

/** How often the CLI redraws its progress bar. */
export const progressRedraw = Duration.millis(200);
