import { Effect, Exit, Fiber } from "effect";
import { describe, expect, it } from "vitest";
import { OpenStream, ServingCount } from "./serving.js";

async function* counting(log: string[], upTo: number): AsyncGenerator<number> {
  try {
    for (let i = 1; i <= upTo; i++) yield i;
  } finally {
    log.push("cleanup");
  }
}

describe("what the node counts as being served", () => {
  it("is idle only once every relay it counted has left, its interruption's bookkeeping included", async () => {
    const serving = new ServingCount();
    const log: string[] = [];
    let idle = false;
    const held = Effect.never.pipe(
      Effect.onInterrupt(() => Effect.promise(() => Promise.resolve().then(() => log.push("recorded")))),
    );
    const fiber = Effect.runFork(serving.around(held));
    await Promise.resolve();
    expect(serving.size).toBe(1);
    const whenIdle = serving.idle().then(() => {
      idle = true;
    });
    serving.enter();
    await Effect.runPromise(Fiber.interrupt(fiber));
    expect(log).toEqual(["recorded"]);
    expect(idle).toBe(false);
    expect(serving.size).toBe(1);
    serving.leave();
    await whenIdle;
    expect(idle).toBe(true);
    expect(serving.size).toBe(0);
  });

  it("counts a failed effect as left", async () => {
    const serving = new ServingCount();
    const exit = await Effect.runPromiseExit(serving.around(Effect.fail("no")));
    expect(Exit.isFailure(exit)).toBe(true);
    expect(serving.size).toBe(0);
    await serving.idle();
  });
});

describe("an open stream's end", () => {
  /** An open stream over `chunks` that logs its abandoning and its end into `log`. */
  const open = (chunks: AsyncGenerator<number>, log: string[]) =>
    new OpenStream(
      chunks,
      async () => void log.push("abandon"),
      () => void log.push("ended"),
    );

  it("ends once after its last chunk, with the generator's own cleanup and no abandoning", async () => {
    const log: string[] = [];
    const stream = open(counting(log, 2), log);
    const seen: number[] = [];
    for await (const n of stream) seen.push(n);
    await stream.return();
    expect(seen).toEqual([1, 2]);
    expect(log).toEqual(["cleanup", "ended"]);
  });

  it("runs the generator's cleanup when its reader leaves mid-stream", async () => {
    const log: string[] = [];
    const stream = open(counting(log, 5), log);
    expect((await stream.next()).value).toBe(1);
    await stream.return();
    expect(log).toEqual(["cleanup", "ended"]);
  });

  it("abandons a stream whose reader left before reading anything (the generator's body never ran)", async () => {
    const log: string[] = [];
    const stream = open(counting(log, 5), log);
    await stream.return();
    await stream.return();
    expect(log).toEqual(["abandon", "ended"]);
    expect((await stream.next()).done).toBe(true);
  });

  it("ends when the generator throws", async () => {
    const log: string[] = [];
    async function* broken(): AsyncGenerator<number> {
      yield 1;
      throw new Error("engine gone");
    }
    const stream = open(broken(), log);
    await stream.next();
    await expect(stream.next()).rejects.toThrow("engine gone");
    expect(log).toEqual(["ended"]);
  });
});
