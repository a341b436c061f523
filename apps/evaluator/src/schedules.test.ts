import { Chunk, Duration, Effect, Random, Schedule } from "effect";
import { describe, expect, it } from "vitest";
import { ROUND_GAP_SHARE, roundSchedule } from "./schedules.js";

const HOUR = 3_600_000;

/** The gaps the round schedule gives before each of `rounds` rounds, with a seeded random source. */
const gaps = (rounds: number, seed: number) =>
  Effect.runSync(
    Schedule.run(
      Schedule.delays(roundSchedule(HOUR)),
      0,
      Array.from({ length: rounds }, () => undefined),
    ).pipe(
      Effect.map((delays) => Chunk.toReadonlyArray(delays).map(Duration.toMillis)),
      Effect.withRandom(Random.make(seed)),
    ),
  );

describe("the round schedule", () => {
  it("draws each gap anew within its bounds, on average the interval", () => {
    const drawn = gaps(400, 7);
    expect(drawn).toHaveLength(400);
    for (const gap of drawn) {
      expect(gap).toBeGreaterThanOrEqual(ROUND_GAP_SHARE.min * HOUR);
      expect(gap).toBeLessThanOrEqual(ROUND_GAP_SHARE.max * HOUR);
    }
    // Spread over the whole range: a node cannot tell when the next round comes.
    expect(Math.min(...drawn)).toBeLessThan(0.6 * HOUR);
    expect(Math.max(...drawn)).toBeGreaterThan(1.4 * HOUR);
    const mean = drawn.reduce((a, b) => a + b, 0) / drawn.length;
    expect(mean / HOUR).toBeGreaterThan(0.95);
    expect(mean / HOUR).toBeLessThan(1.05);
  });

  it("gives different gaps from different random sources", () => {
    expect(gaps(8, 1)).not.toEqual(gaps(8, 2));
  });
});
