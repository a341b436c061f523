import { EVALUATOR_PROCEDURES, type NodeScore, PoktAddress, type Scoreboard } from "@pocket-ai/protocol";
import { createTRPCClient, httpLink } from "@trpc/client";
import { z } from "zod";
import type { LinkFetch } from "./node-contract.js";
import { publicProcedure, router } from "./trpc.js";

/** What an evaluator implements for gateways: its current board and one node's entry. */
export interface ScoreboardApi {
  readonly board: () => Scoreboard;
  readonly node: (address: string) => NodeScore | null;
}

const [scores, board] = EVALUATOR_PROCEDURES.scoreboard.split(".") as ["scores", "board"];

/**
 * The evaluator's tRPC API: `scores.board` (the path `EVALUATOR_PROCEDURES.scoreboard` names; a
 * query, no input) is what gateways poll and route by; `scores.node` returns one node's entry.
 */
export function makeScoreboardRouter(impl: ScoreboardApi) {
  return router({
    [scores]: router({
      [board]: publicProcedure.query(() => impl.board()),
      node: publicProcedure
        .input(z.object({ address: PoktAddress }))
        .query(({ input }) => impl.node(input.address)),
    }),
  });
}

/** The evaluator's router type, for typed clients. */
export type ScoreboardRouter = ReturnType<typeof makeScoreboardRouter>;

/** A typed client for an evaluator's scoreboard. */
export function makeScoreboardClient(url: string, options: { readonly fetch?: LinkFetch } = {}) {
  return createTRPCClient<ScoreboardRouter>({
    links: [httpLink({ url, ...(options.fetch === undefined ? {} : { fetch: options.fetch as never }) })],
  });
}
