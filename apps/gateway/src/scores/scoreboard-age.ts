import type { MetricsRegistry } from "@pocket-ai/runtime";
import { Effect, Layer } from "effect";
import { ScoresPoller } from "./scores-poller.js";

/**
 * `pocket_gateway_scoreboard_age_seconds`: seconds since the newest entry of the scoreboard the
 * gateway routes by was updated, read at each scrape. A gateway keeps its last good board however
 * long the evaluator fails, and the evaluator stamps every board it serves as new: this is the age
 * an operator alerts on. No series while no board with entries is kept.
 */
export const scoreboardAgeGauge = (metrics: MetricsRegistry) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const book = yield* ScoresPoller;
      const clock = yield* Effect.clock;
      const gauge = metrics.gauge(
        "pocket_gateway_scoreboard_age_seconds",
        "Seconds since the newest entry of the evaluator scoreboard this gateway routes by was updated (its own updatedAt). The gateway keeps its last good board while the evaluator fails; alert when this passes a few round intervals. A warning is also logged once it passes routing.evaluator.staleAfterMs.",
      );
      metrics.beforeRender(() => {
        gauge.clear();
        const age = book.ageMs(clock.unsafeCurrentTimeMillis());
        if (age !== undefined) gauge.set({}, Math.floor(age / 1000));
      });
    }),
  );
