import { Clock, Effect } from "effect";

/**
 * A clock whose time a test sets (`at`), so that what depends on time (sessions, staleness) moves
 * without the test waiting for it; sleeps still take real time.
 */
export function settableClock(start = Date.now()) {
  const time = { at: start };
  const real = Clock.make();
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => time.at,
    currentTimeMillis: Effect.sync(() => time.at),
    unsafeCurrentTimeNanos: () => BigInt(time.at) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(time.at) * 1_000_000n),
    sleep: (duration) => real.sleep(duration),
  };
  return { clock, time };
}
