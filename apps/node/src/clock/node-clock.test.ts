import { Effect, Layer, TestClock, TestContext } from "effect";
import { describe, expect, it } from "vitest";
import { NodeClock } from "./node-clock.js";

describe("NodeClock", () => {
  it("reads Effect's clock, so a test clock moves it", async () => {
    const read = Effect.gen(function* () {
      const clock = yield* NodeClock;
      const before = clock.now();
      yield* TestClock.adjust("90 minutes");
      return [before, clock.now()] as const;
    });
    const [before, after] = await Effect.runPromise(
      read.pipe(
        Effect.provide(NodeClock.layer.pipe(Layer.provide(TestContext.TestContext))),
        Effect.provide(TestContext.TestContext),
      ),
    );
    expect(after - before).toBe(90 * 60_000);
  });
});
