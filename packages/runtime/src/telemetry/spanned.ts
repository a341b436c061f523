import { Effect, Layer } from "effect";

/**
 * How many span exporters this process runs now (`tracingLayer` with an endpoint). While none
 * does, a span would go nowhere, yet `Effect.withSpan` still costs some 35 fiber steps per call
 * with the tracer off: {@link spannedFn} and {@link spanned} then run the effect as it is.
 */
let exporters = 0;

/** Counts one running span exporter for as long as the layer is alive. */
export const spanExporterRunning: Layer.Layer<never> = Layer.scopedDiscard(
  Effect.acquireRelease(
    Effect.sync(() => {
      exporters += 1;
    }),
    () =>
      Effect.sync(() => {
        exporters -= 1;
      }),
  ),
);

/** Whether any span exporter runs in this process (spans are kept only then). */
export const spansExported = (): boolean => exporters > 0;

/**
 * `effect` in a span named `name` (no stack trace captured) when spans are exported as it is
 * built; else `effect` itself. Decided when it is built, not when it runs (a suspended check costs
 * two fiber steps per call): an effect kept and run after an exporter started or stopped keeps
 * the choice it was built with.
 */
export const spanned = <A, E, R>(effect: Effect.Effect<A, E, R>, name: string): Effect.Effect<A, E, R> =>
  exporters > 0 ? Effect.withSpan(effect, name, { captureStackTrace: false }) : effect;

/**
 * A function whose every call runs in a span named `name`, as `Effect.fn(name)(f)` does, without
 * capturing a stack trace at each call: for functions on the hot path of every request, where
 * the span's name says where it ran. With no span exporter running, calls run without a span.
 */
export const spannedFn =
  <Args extends ReadonlyArray<unknown>, A, E, R>(
    name: string,
    f: (...args: Args) => Effect.Effect<A, E, R>,
  ) =>
  (...args: Args): Effect.Effect<A, E, R> =>
    spanned(f(...args), name);
