import { join } from "node:path";
import { type MetricsConfig, serveHttp } from "@pocket-ai/runtime";
import { getFrom, nonLoopbackAddress } from "@pocket-ai/vitest-config/from-address";
import { Context, Effect, Exit, Layer, Runtime, Scope } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { evaluatorHandler } from "../src/leaderboard/http-handler.js";
import { tempDir } from "./evaluator-process.js";

/** The evaluator's `/metrics`, with and without `metrics.token`, over loopback on a real SQLite file. */

const token = "scrape-token-0123456789";
const elsewhere = nonLoopbackAddress();
const scope = Effect.runSync(Scope.make());
let url = "";
let plainUrl = "";

beforeAll(async () => {
  const file = join(tempDir(), "evaluator.sqlite");
  const context = await Effect.runPromise(Layer.buildWithScope(EvaluatorStore.layer(file), scope));
  const store = Context.get(context, EvaluatorStore);
  const serve = (metrics: MetricsConfig | undefined) =>
    Effect.runPromise(
      Scope.extend(
        serveHttp({
          handler: evaluatorHandler({ store, evaluatorId: "e", now: () => 1 }, Runtime.defaultRuntime, {
            metrics,
          }),
          host: "127.0.0.1",
          port: 0,
        }),
        scope,
      ),
    );
  url = (await serve({ token })).url;
  plainUrl = (await serve(undefined)).url;
});
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)));

describe("/metrics without metrics.token", () => {
  it("serves this machine and refuses a scrape relayed by a proxy with 403 METRICS_LOCAL_ONLY", async () => {
    const local = await fetch(`${plainUrl}/metrics`);
    expect(local.status).toBe(200);
    expect(await local.text()).toContain("pocket_evaluator_board_entries");
    const relayed = await fetch(`${plainUrl}/metrics`, { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(relayed.status).toBe(403);
    expect(relayed.headers.get("www-authenticate")).toBeNull();
    const body = (await relayed.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("METRICS_LOCAL_ONLY");
    expect(body.error.message).toContain("metrics.token");
  });

  it.skipIf(elsewhere === undefined)("refuses a scrape from another address", async () => {
    const refused = await getFrom(`${plainUrl}/metrics`, elsewhere!);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "METRICS_LOCAL_ONLY" } });
  });
});

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
    if (elsewhere !== undefined) {
      const remote = await getFrom(`${url}/metrics`, elsewhere, { authorization: `Bearer ${token}` });
      expect(remote.status).toBe(200);
    }
  });

  it("leaves /health and the board open", async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/scoreboard.json`)).status).toBe(200);
  });
});
