import { makeScoreboardRouter, type ScoreboardRouter } from "@pocket-ai/link";
import type { Scoreboard } from "@pocket-ai/protocol";
import { boardReader } from "./publish/scoreboard.js";
import type { ScoresContext } from "./publish/scores-context.js";

/**
 * The evaluator's tRPC router: the link's scoreboard contract (`scores.board`, `scores.node`),
 * implemented from the evaluator's store (the board built again only when it changed or is a
 * second old: `boardReader`).
 */
export function appRouter(ctx: ScoresContext, board: () => Scoreboard = boardReader(ctx)): ScoreboardRouter {
  return makeScoreboardRouter({
    board,
    node: (address) => board().nodes.find((n) => n.address === address) ?? null,
  });
}

export type AppRouter = ScoreboardRouter;
