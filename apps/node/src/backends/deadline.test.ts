import { Deferred, Effect, Either, Exit, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import { withDeadline } from "./deadline.js";

class Late {
  readonly _tag = "Late";
}

describe("withDeadline", () => {
  it("gives the work's success, or its failure, when it ends in time", async () => {
    expect(await Effect.runPromise(withDeadline(Effect.succeed(1), 1_000, () => new Late()))).toBe(1);
    const failed = await Effect.runPromise(
      Effect.either(withDeadline(Effect.fail("no"), 1_000, () => new Late())),
    );
    expect(failed).toEqual(Either.left("no"));
  });

  it("interrupts the work, runs its finalizers and fails with the timeout's error", async () => {
    let released = false;
    const work = Effect.never.pipe(Effect.ensuring(Effect.sync(() => (released = true))));
    const result = await Effect.runPromise(Effect.either(withDeadline(work, 5, () => new Late())));
    expect(Either.isLeft(result) && result.left).toBeInstanceOf(Late);
    expect(released).toBe(true);
  });

  it("interrupts the work when the caller is interrupted", async () => {
    const released = Effect.runSync(Deferred.make<void>());
    const work = Effect.never.pipe(Effect.ensuring(Deferred.succeed(released, undefined)));
    const fiber = Effect.runFork(withDeadline(work, 60_000, () => new Late()));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const exit = await Effect.runPromise(Fiber.interrupt(fiber));
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(Effect.runSync(Deferred.isDone(released))).toBe(true);
  });
});
