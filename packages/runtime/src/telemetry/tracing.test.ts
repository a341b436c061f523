import { Duration, Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { startSpanCollector } from "../../test/support/span-collector.js";
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
