import { Duration, Schedule } from "effect";

/** Every retry, pacing and polling schedule of the evaluator, named, in one place. */

/**
 * A probe that failed before any output is retried twice with jittered backoff. Failures still
 * count toward the node's error rate (each attempt is recorded); retries only keep one flaky
 * relay from costing an item its score.
 */
export const probeRetry = Schedule.exponential(Duration.millis(250), 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(2)),
);

/** How often the long-running evaluator starts a new round of runs over every node. */
export function roundSchedule(intervalMs: number) {
  return Schedule.spaced(Duration.millis(intervalMs));
}

/** How often the CLI redraws its progress bar. */
export const progressRedraw = Duration.millis(200);
