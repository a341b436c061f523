import { Duration, Schedule } from "effect";

/** Every retry, pacing and polling schedule of the evaluator, named, in one place. */

/**
 * A probe that got no HTTP answer at all (a connection refused or reset) is sent again twice, after
 * about 250 and 500 ms, jittered: one dropped connection must not stop a round. Only when the
 * gateway stays out of reach does the run stop (`gateway-watch.ts`). Failures with an answer are
 * never retried: each is the node's, and counts.
 */
export const unansweredProbeRetry = Schedule.exponential(Duration.millis(250), 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(2)),
);

/** How often the long-running evaluator starts a new round of runs over every node. */
export function roundSchedule(intervalMs: number) {
  return Schedule.spaced(Duration.millis(intervalMs));
}

/** How often the CLI redraws its progress bar. */
export const progressRedraw = Duration.millis(200);
