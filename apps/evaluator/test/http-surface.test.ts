import { join } from "node:path";
import { createLogger, redactingLoggerLayer, serveHttp } from "@pocket-ai/runtime";
import Database from "better-sqlite3";
import { Context, Effect, Exit, Layer, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvaluatorStore, type EvaluatorStoreImpl } from "../src/db/evaluator-store.js";
import { evaluatorHandler } from "../src/leaderboard/http-handler.js";
import { tempDir } from "./evaluator-process.js";

/** The evaluator's plain HTTP routes over loopback, on a real SQLite file. */

const scope = Effect.runSync(Scope.make());
const file = join(tempDir(), "evaluator.sqlite");
let url = "";
let store: EvaluatorStoreImpl;
/** The JSON lines the handler logged. */
const logged: string[] = [];

beforeAll(async () => {
  const context = await Effect.runPromise(Layer.buildWithScope(EvaluatorStore.layer(file), scope));
  store = Context.get(context, EvaluatorStore);
  const runtime = await Effect.runPromise(
    Layer.toRuntime(
      redactingLoggerLayer(createLogger({ app: "evaluator", write: (line) => logged.push(line) })),
    ).pipe(Scope.extend(scope)),
  );
  const server = await Effect.runPromise(
    Scope.extend(
      serveHttp({
        handler: evaluatorHandler({ store, evaluatorId: "e", now: () => 1 }, runtime),
        host: "127.0.0.1",
        port: 0,
      }),
      scope,
    ),
  );
  url = server.url;
});
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)));

const get = async (path: string, method = "GET") => {
  const response = await fetch(`${url}${path}`, { method });
  return { status: response.status, headers: response.headers, text: await response.text() };
};

describe("the evaluator's HTTP routes", () => {
  it("answers /health, and unknown routes and methods with a stable code as JSON", async () => {
    expect(await get("/health")).toMatchObject({ status: 200, text: '{"ok":true}' });
    const missing = await get("/nope");
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error.code).toBe("ROUTE_NOT_FOUND");
    const posted = await get("/scoreboard.json", "POST");
    expect(posted.status).toBe(405);
    expect(posted.headers.get("allow")).toBe("GET, HEAD");
    expect(JSON.parse(posted.text).error.code).toBe("METHOD_NOT_ALLOWED");
    expect((await get("/", "HEAD")).status).toBe(200);
  });

  it("serves /metrics from what the runs recorded: runs by status, results by kind, status and code", async () => {
    const before = await get("/metrics");
    expect(before.status).toBe(200);
    expect(before.headers.get("content-type")).toContain("text/plain");
    expect(before.text).not.toMatch(/^pocket_evaluator_last_run_finished_timestamp_seconds /m);
    const run = { nodeAddress: "pokt1node", serviceId: "dev-text", seed: 1, suiteHash: "h", plannedItems: 3 };
    store.startRun({ ...run, id: "r1", startedAt: 1_000 });
    store.startRun({ ...run, id: "r2", startedAt: 2_000 });
    const result = { kind: "item" as const, category: "knowledge", promptHash: "p", createdAt: 1_500 };
    const empty = { score: null, stat: null, ttftMs: null, responseHash: null, perceptualHash: null };
    const more = { checks: null, probes: 1, varied: null, errorCode: null };
    store.recordResult({
      ...empty,
      ...more,
      ...result,
      runId: "r1",
      itemKey: "a/1",
      status: "scored",
      score: 1,
    });
    store.recordResult({
      ...empty,
      ...more,
      ...result,
      runId: "r1",
      itemKey: "a/2",
      status: "scored",
      score: 0,
    });
    store.recordResult({
      ...empty,
      ...more,
      ...result,
      runId: "r1",
      itemKey: "a/3",
      status: "error",
      errorCode: "NODE_FAILED",
    });
    store.finishRun("r1", "finished", 61_000);
    // A run of more than a week before (the test's clock reads 1 ms) is no longer counted.
    store.startRun({ ...run, id: "r0", startedAt: -8 * 24 * 3_600_000 });
    store.recordResult({
      ...empty,
      ...more,
      ...result,
      runId: "r0",
      itemKey: "a/1",
      status: "scored",
      score: 1,
    });
    const text = (await get("/metrics")).text;
    expect(text).toMatch(/^pocket_evaluator_runs\{status="finished"\} 1$/m);
    expect(text).toMatch(/^pocket_evaluator_runs\{status="running"\} 2$/m);
    expect(text).toMatch(/^pocket_evaluator_recent_results\{code="",kind="item",status="scored"\} 2$/m);
    expect(text).toMatch(
      /^pocket_evaluator_recent_results\{code="NODE_FAILED",kind="item",status="error"\} 1$/m,
    );
    expect(text).toMatch(/^pocket_evaluator_last_run_finished_timestamp_seconds 61$/m);
    expect(text).toMatch(/^pocket_evaluator_board_entries 0$/m);
  });

  it("answers 503 DATABASE_UNAVAILABLE when the database fails a read, without internals, and keeps serving", async () => {
    expect((await get("/scoreboard.json")).status).toBe(200);
    // Another connection breaks the schema under the running server (as a damaged file would).
    const db = new Database(file);
    db.exec("alter table node_scores rename to node_scores_gone");
    db.close();
    for (const path of ["/", "/scoreboard.json", "/metrics"]) {
      const failed = await get(path);
      expect(failed.status).toBe(503);
      expect(JSON.parse(failed.text).error.code).toBe("DATABASE_UNAVAILABLE");
      expect(failed.text).not.toMatch(/node_scores|Sqlite|\/tmp|evaluator\.sqlite/);
    }
    expect((await get("/health")).status).toBe(200);
    // The log says what failed and SQLite's code, never the failed statement.
    const lines = logged.filter((l) => l.includes("cannot read the database"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(JSON.parse(line)).toMatchObject({
        level: "error",
        code: "DATABASE_UNAVAILABLE",
        reason: "SQLITE_ERROR: no such table: node_scores",
      });
      expect(line).not.toMatch(/select|from\s/i);
    }
  });
});
