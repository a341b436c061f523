import type { Logger } from "@pocket-ai/runtime";
import { Effect, Schedule } from "effect";

/** Tries at settling a relay (charge and ledger row in one transaction) before giving up on it. */
export const SETTLE_ATTEMPTS = 3;

/**
 * `settle` (see `Limits.settle`) tried up to {@link SETTLE_ATTEMPTS} times, a short, growing pause
 * between tries: a passing storage fault (a busy or briefly unreachable database) must not cost the
 * client its answer or the node its pay. Each failed try is logged (the reason only: never a
 * prompt); the last failure is the caller's to handle (withhold the answer, end the stream with
 * an error), after `onGiveUp` when given.
 */
export function settleWithRetry<A, E extends { readonly reason?: unknown }, R>(
  log: Logger,
  what: string,
  settle: Effect.Effect<A, E, R>,
  onGiveUp?: (error: E) => void,
): Effect.Effect<A, E, R> {
  const failed = (attempt: number, error: E) =>
    log.warn(`settling ${what} failed`, { attempt, of: SETTLE_ATTEMPTS, reason: String(error.reason) });
  // The first try runs alone, with one handler for its failure (the common case costs no schedule
  // nor counter); after a failure, pauses of 20, then 40 ms before the next tries.
  return Effect.catchAll(settle, (error) => {
    failed(1, error);
    let attempt = 1;
    const retried = Effect.zipRight(
      Effect.sleep("20 millis"),
      Effect.retry(
        Effect.suspend(() => {
          attempt += 1;
          return settle;
        }).pipe(Effect.tapError((error) => Effect.sync(() => failed(attempt, error)))),
        { schedule: Schedule.exponential("40 millis"), times: SETTLE_ATTEMPTS - 2 },
      ),
    );
    return onGiveUp === undefined
      ? retried
      : Effect.tapError(retried, (error) => Effect.sync(() => onGiveUp(error)));
  });
}
