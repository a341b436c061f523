import type { IncomingMessage, ServerResponse } from "node:http";
import { contextFromRequest } from "@pocket-ai/link";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import type { Runtime } from "effect";
import { buildScoreboard } from "../publish/scoreboard.js";
import type { ScoresContext } from "../publish/scores-context.js";
import { appRouter } from "../router.js";
import { leaderboardPage } from "./page.js";

/**
 * The evaluator's HTTP surface: the leaderboard page at `/`, the scoreboard as JSON at
 * `/scoreboard.json`, and tRPC under `/trpc/` (`scores.board` is what gateways poll). `runtime` is
 * the app's (its logger and services) for what the procedures run.
 */
export function evaluatorHandler(
  ctx: ScoresContext,
  runtime: Runtime.Runtime<never>,
): (req: IncomingMessage, res: ServerResponse) => void {
  const trpc = createHTTPHandler({
    router: appRouter(ctx),
    basePath: "/trpc/",
    createContext: contextFromRequest(runtime),
  });
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path?.startsWith("/trpc/")) return trpc(req, res);
    if (req.method !== "GET") {
      res.writeHead(405).end();
      return;
    }
    const board = buildScoreboard(ctx.store, ctx.evaluatorId, ctx.now());
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
      res.end(leaderboardPage(board));
      return;
    }
    if (path === "/scoreboard.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(board));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  };
}
