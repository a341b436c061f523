import { EVALUATOR_PROCEDURES, PoktAddress, type Scoreboard } from "@pocket-ai/protocol";
import { z } from "zod";
import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import { publicProcedure, router } from "../trpc.js";
import { buildScoreboard } from "./scoreboard.js";

export interface ScoresContext {
  readonly store: EvaluatorStoreImpl;
  readonly evaluatorId: string;
  readonly now: () => number;
}

const [namespace, procedure] = EVALUATOR_PROCEDURES.scoreboard.split(".") as ["scores", "board"];
void namespace;

/**
 * `scores.board` (the path `EVALUATOR_PROCEDURES.scoreboard` names; a query, no input) is what
 * gateways poll and route by; `scores.node` returns one node's entry.
 */
export function scoresRouter(ctx: ScoresContext) {
  return router({
    [procedure]: publicProcedure.query(
      (): Scoreboard => buildScoreboard(ctx.store, ctx.evaluatorId, ctx.now()),
    ),
    node: publicProcedure
      .input(z.object({ address: PoktAddress }))
      .query(({ input }) => ctx.store.board().find((n) => n.address === input.address) ?? null),
  } as const);
}
