import type { IncomingMessage, ServerResponse } from "node:http";
import { contextFromRequest, logUncodedFailures } from "@pocket-ai/link";
import { type ErrorCode, ErrorCodes } from "@pocket-ai/protocol";
import { describeThrown, METRICS_CHALLENGE, type MetricsConfig, metricsAccess } from "@pocket-ai/runtime";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { Effect, Runtime } from "effect";
import { buildScoreboard } from "../publish/scoreboard.js";
import type { ScoresContext } from "../publish/scores-context.js";
import { appRouter } from "../router.js";
import { evaluatorMetrics } from "./metrics.js";
import { leaderboardPage } from "./page.js";

/**
 * The evaluator's HTTP surface: the leaderboard page at `/`, the scoreboard as JSON at
 * `/scoreboard.json`, `/health` (the process serves), `/metrics` (Prometheus; from this machine only, unless
 * `metrics.token` or `metrics.public` is set), and tRPC under `/trpc/` (`scores.board` is
 * what gateways poll). `runtime` is the app's (its logger and services) for what the procedures
 * run. Errors are JSON with a stable code; a failing database answers 503, never a crash.
 */
export function evaluatorHandler(
  ctx: ScoresContext,
  runtime: Runtime.Runtime<never>,
  options: { readonly metrics?: MetricsConfig | undefined } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const metricsRefusal = metricsAccess(options.metrics);
  const trpc = createHTTPHandler({
    router: appRouter(ctx),
    basePath: "/trpc/",
    // tRPC's default client link batches the calls made together; a batch is capped (refused 400
    // INVALID_REQUEST past it), or one small GET naming `scores.board` a thousand times would
    // answer the whole board a thousand times over.
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: contextFromRequest(runtime),
    onError: logUncodedFailures(runtime),
  });
  const run = Runtime.runSync(runtime);
  /** A read of the database for one answer; a failing database answers 503, never a crash. */
  const read = <A>(res: ServerResponse, f: () => A): A | undefined => {
    try {
      return f();
    } catch (e) {
      // A database that fails a read (disk error, a damaged file) must not take the server down.
      // The driver's code, never the failed statement (see describeThrown).
      run(
        Effect.logError("cannot read the database").pipe(
          Effect.annotateLogs({ code: "DATABASE_UNAVAILABLE", reason: describeThrown(e) }),
        ),
      );
      sendError(
        res,
        "DATABASE_UNAVAILABLE",
        "The evaluator cannot read its database. Retry later; the operator finds the cause in the evaluator's log.",
      );
      return undefined;
    }
  };
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    if (path.startsWith("/trpc/")) return trpc(req, res);
    if (!PAGES.has(path))
      return sendError(
        res,
        "ROUTE_NOT_FOUND",
        `No route ${path}. The evaluator serves ${[...PAGES].join(", ")} and tRPC under /trpc/.`,
      );
    if (req.method !== "GET" && req.method !== "HEAD")
      return sendError(res, "METHOD_NOT_ALLOWED", `${path} takes GET only.`, { allow: "GET, HEAD" });
    if (path === "/metrics") {
      const refusal = metricsRefusal(req);
      if (refusal !== undefined)
        return sendError(
          res,
          refusal,
          ErrorCodes[refusal].message,
          refusal === "METRICS_UNAUTHORIZED" ? METRICS_CHALLENGE : {},
        );
      const text = read(res, () => evaluatorMetrics(ctx.store, ctx.now()));
      if (text === undefined) return;
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4", "cache-control": "no-store" });
      res.end(text);
      return;
    }
    if (path === "/health") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify({ ok: true }));
      return;
    }
    // Built for each page (one build per request, as any request costs): a read the database fails
    // shows at once as 503, never hidden behind a board built before.
    const current = read(res, () => buildScoreboard(ctx.store, ctx.evaluatorId, ctx.now(), ctx.measured));
    if (current === undefined) return;
    if (path === "/scoreboard.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(current));
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
    res.end(leaderboardPage(current));
  };
}

/** The most calls one tRPC request may batch. */
export const MAX_BATCH_CALLS = 10;

/** The plain HTTP routes; everything else is tRPC under `/trpc/` or a 404. */
const PAGES = new Set(["/", "/index.html", "/scoreboard.json", "/health", "/metrics"]);

/** An error as `{ error: { code, message } }`: the protocol's stable code, its status, no internals. */
function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(ErrorCodes[code].status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}
