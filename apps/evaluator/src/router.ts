import { makeScoreboardRouter, type ScoreboardRouter } from "@pocket-ai/link";
import { boardReader } from "./publish/scoreboard.js";
import type { ScoresContext } from "./publish/scores-context.js";

/**
 * The evaluator's tRPC router: the link's scoreboard contract (`scores.board`, `scores.node`),
 * implemented from the evaluator's store (the board built again only when it changed or is a
 * second old: `boardReader`).
 */
export function appRouter(ctx: ScoresContext): ScoreboardRouter {
  // Every call of a batch reads the same board.
  const board = boardReader(ctx);
  return makeScoreboardRouter({
    board,
    node: (address) => board().nodes.find((n) => n.address === address) ?? null,
  });
}

export type AppRouter = ScoreboardRouter;
