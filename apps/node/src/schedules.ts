import { Duration, Schedule } from "effect";

/**
 * Every retry and polling schedule of the node, named, in one place.
 */

/** Calls to a gateway: three quick retries with jittered exponential backoff, for transient faults. */
export const gatewayCallRetry = Schedule.exponential(Duration.millis(200), 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(3)),
);

/** A claim or proof that failed waits this long before its next attempt (doubling, capped). */
export function claimBackoffMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 10 * 60_000);
}

/** How often the claim loop looks for ended sessions and due claims. */
export const claimLoopInterval = Duration.seconds(2);

/** Announcing again after a failed announcement: 1 s doubling to 30 s. */
export function announceRetryMs(failures: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, failures - 1), 30_000);
}

/**
 * Announcing again after a gateway refused this node as one new node too many from its network
 * (`ANNOUNCE_LIMITED`): a slot frees as the hour's arrivals age out, not within seconds.
 */
export const announceLimitedRetryMs = 5 * 60_000;

/** Timeout of one call to a gateway. */
export const gatewayCallTimeout = Duration.seconds(10);
