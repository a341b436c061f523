import { Effect } from "effect";

/**
 * A function whose every call runs in a span named `name`, as `Effect.fn(name)(f)` does, without
 * capturing a stack trace at each call: for functions on the hot path of every request, where
 * the span's name says where it ran.
 */
export const spannedFn =
  <Args extends ReadonlyArray<unknown>, A, E, R>(
    name: string,
    f: (...args: Args) => Effect.Effect<A, E, R>,
  ) =>
  (...args: Args): Effect.Effect<A, E, R> =>
    Effect.withSpan(f(...args), name, { captureStackTrace: false });
