import { type ScoresContext, scoresRouter } from "./publish/scores-router.js";
import { router } from "./trpc.js";

/** The evaluator's tRPC router: `scores.board` and `scores.node`. Cross app boundaries as `import type` only. */
export function appRouter(ctx: ScoresContext) {
  return router({ scores: scoresRouter(ctx) });
}

export type AppRouter = ReturnType<typeof appRouter>;
