import { join } from "node:path";
import { serveHttp } from "@pocket-ai/runtime";
import { Context, Effect, Exit, Layer, Runtime, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { evaluatorHandler } from "../src/leaderboard/http-handler.js";
import { tempDir } from "./evaluator-process.js";

/** The evaluator's `/metrics` with `metrics.token` set, over loopback on a real SQLite file. */

const token = "scrape-token-0123456789";
const scope = Effect.runSync(Scope.make());
let url = "";

beforeAll(async () => {
  const file = join(tempDir(), "evaluator.sqlite");
  const context = await Effect.runPromise(Layer.buildWithScope(EvaluatorStore.layer(file), scope));
  const store = Context.get(context, EvaluatorStore);
  const server = await Effect.runPromise(
    Scope.extend(
      serveHttp({
        handler: evaluatorHandler({ store, evaluatorId: "e", now: () => 1 }, Runtime.defaultRuntime, {
          metrics: { token },
        }),
        host: "127.0.0.1",
        port: 0,
      }),
      scope,
    ),
  );
  url = server.url;
});
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)));

describe("/metrics behind metrics.token", () => {
  it("refuses a scrape without the token with 401 METRICS_UNAUTHORIZED, and serves one with it", async () => {
    for (const authorization of [undefined, "Bearer wrong-token-0123456789", token]) {
      const refused = await fetch(`${url}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(refused.status, String(authorization)).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("METRICS_UNAUTHORIZED");
      expect(body.error.message).toContain("metrics.token");
    }
    const scrape = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain("pocket_evaluator_board_entries");
  });

  it("leaves /health and the board open", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/scoreboard.json`)).status).toBe(200);
  });
});
