import { makeScoreboardRouter, type ScoreboardRouter } from "@pocket-ai/link";
import { buildScoreboard } from "./publish/scoreboard.js";
import type { ScoresContext } from "./publish/scores-context.js";

/**
 * The evaluator's tRPC router: the link's scoreboard contract (`scores.board`, `scores.node`),
 * implemented from the evaluator's store.
 */
export function appRouter(ctx: ScoresContext): ScoreboardRouter {
  return makeScoreboardRouter({
    board: () => buildScoreboard(ctx.store, ctx.evaluatorId, ctx.now(), ctx.measured),
    node: (address) =>
      buildScoreboard(ctx.store, ctx.evaluatorId, ctx.now(), ctx.measured).nodes.find(
        (n) => n.address === address,
      ) ?? null,
  });
}

export type AppRouter = ScoreboardRouter;
