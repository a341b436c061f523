import { Duration, Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { startSpanCollector } from "../../test/support/span-collector.js";
import { spannedFn, spansExported } from "./spanned.js";
import { tracingLayer } from "./tracing.js";

const served = Effect.fn("Relay.serve")(function* (n: number) {
  yield* Effect.sleep(Duration.millis(1));
  return n + 1;
});

let collector: Awaited<ReturnType<typeof startSpanCollector>> | undefined;
afterEach(async () => {
  await collector?.close();
  collector = undefined;
});

describe("tracingLayer", () => {
  it("exports Effect.fn spans to the configured OTLP endpoint, flushed on shutdown", async () => {
    collector = await startSpanCollector();
    const result = await Effect.runPromise(
      served(41).pipe(
        Effect.provide(
          tracingLayer({ otlpEndpoint: collector.url }, "gateway", { exportInterval: "1 hour" }),
        ),
      ),
    );
    expect(result).toBe(42);
    expect(collector.spans).toEqual([{ path: "/v1/traces", service: "gateway", name: "Relay.serve" }]);
  });

  it("is off by default: no endpoint, nothing is sent", async () => {
    collector = await startSpanCollector();
    await Effect.runPromise(served(1).pipe(Effect.provide(tracingLayer(undefined, "gateway"))));
    await Effect.runPromise(served(1).pipe(Effect.provide(tracingLayer({}, "gateway"))));
    expect(collector.spans).toEqual([]);
  });
});

describe("spannedFn", () => {
  /** The name of the span the call ran in, if any. */
  const hot = spannedFn("Relay.hot", (n: number) =>
    Effect.map(Effect.option(Effect.currentSpan), (span) => ({
      n: n + 1,
      span: span._tag === "Some" ? span.value.name : undefined,
    })),
  );

  it("enters no span while no exporter runs, not even the tracer's no-op one", async () => {
    expect(spansExported()).toBe(false);
    const off = await Effect.runPromise(hot(1).pipe(Effect.provide(tracingLayer(undefined, "gateway"))));
    expect(off).toEqual({ n: 2, span: undefined });
  });

  it("runs in its span, exported, when built while an exporter runs; and stops when the exporter stops", async () => {
    collector = await startSpanCollector();
    // Built inside the program that runs the exporter, as a server builds each request's effect.
    const on = await Effect.runPromise(
      Effect.suspend(() => hot(41)).pipe(
        Effect.provide(tracingLayer({ otlpEndpoint: collector.url }, "node", { exportInterval: "1 hour" })),
      ),
    );
    expect(on).toEqual({ n: 42, span: "Relay.hot" });
    expect(collector.spans).toEqual([{ path: "/v1/traces", service: "node", name: "Relay.hot" }]);
    expect(spansExported()).toBe(false);
    expect(await Effect.runPromise(hot(1))).toEqual({ n: 2, span: undefined });
  });
});
