import { MAX_TIMER_MS } from "@pocket-ai/runtime";
import { Effect, type Exit, Fiber } from "effect";

/**
 * `effect` under a time limit, as `Effect.timeoutFail`: past `ms` the work is interrupted (and
 * awaited, so what it holds is given back) and `onTimeout()` fails in its place; an interruption
 * of the caller interrupts the work too. The limit is one plain timer, not a timer fiber raced
 * against the work, so a call that finishes in time costs one fork and no more.
 */
export function withDeadline<A, E, E2>(
  effect: Effect.Effect<A, E>,
  ms: number,
  onTimeout: () => E2,
): Effect.Effect<A, E | E2> {
  if (ms > MAX_TIMER_MS) return effect;
  return Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.fork(restore(effect)), (fiber) =>
      restore(
        Effect.async<A, E | E2>((resume) => {
          const done = (exit: Exit.Exit<A, E>) => {
            clearTimeout(timer);
            resume(exit);
          };
          const timer = setTimeout(() => {
            fiber.removeObserver(done);
            resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout())));
          }, ms);
          fiber.addObserver(done);
          return Effect.sync(() => {
            clearTimeout(timer);
            fiber.removeObserver(done);
          });
        }),
      ).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber))),
    ),
  );
}
