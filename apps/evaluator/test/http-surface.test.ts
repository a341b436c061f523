import { join } from "node:path";
import { serveHttp } from "@pocket-ai/runtime";
import Database from "better-sqlite3";
import { Context, Effect, Exit, Layer, Runtime, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { evaluatorHandler } from "../src/leaderboard/http-handler.js";
import { tempDir } from "./evaluator-process.js";

/** The evaluator's plain HTTP routes over loopback, on a real SQLite file. */

const scope = Effect.runSync(Scope.make());
const file = join(tempDir(), "evaluator.sqlite");
let url = "";

beforeAll(async () => {
  const context = await Effect.runPromise(Layer.buildWithScope(EvaluatorStore.layer(file), scope));
  const store = Context.get(context, EvaluatorStore);
  const server = await Effect.runPromise(
    Scope.extend(
      serveHttp({
        handler: evaluatorHandler({ store, evaluatorId: "e", now: () => 1 }, Runtime.defaultRuntime),
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

  it("answers 503 DATABASE_UNAVAILABLE when the database fails a read, without internals, and keeps serving", async () => {
    expect((await get("/scoreboard.json")).status).toBe(200);
    // Another connection breaks the schema under the running server (as a damaged file would).
    const db = new Database(file);
    db.exec("alter table node_scores rename to node_scores_gone");
    db.close();
    for (const path of ["/", "/scoreboard.json"]) {
      const failed = await get(path);
      expect(failed.status).toBe(503);
      expect(JSON.parse(failed.text).error.code).toBe("DATABASE_UNAVAILABLE");
      expect(failed.text).not.toMatch(/node_scores|Sqlite|\/tmp|evaluator\.sqlite/);
    }
    expect((await get("/health")).status).toBe(200);
  });
});
