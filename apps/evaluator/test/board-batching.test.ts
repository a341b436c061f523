import { generateKeyPair, type NodeScore } from "@pocket-ai/protocol";
import { createLogger, redactingLoggerLayer, serveHttp } from "@pocket-ai/runtime";
import { Context, Effect, Exit, Layer, Scope } from "effect";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { EvaluatorStore, type EvaluatorStoreImpl } from "../src/db/evaluator-store.js";
import { evaluatorHandler, MAX_BATCH_CALLS } from "../src/leaderboard/http-handler.js";

// The board is public: one small GET that names `scores.board` many times must not make the
// evaluator build and send the whole board that many times.
function entry(address: string, mean: number): NodeScore {
  const est = { mean, lower: mean - 0.05, upper: mean + 0.05, n: 250 };
  return {
    address,
    serviceId: "dev-text",
    categories: { knowledge: est, coding: est, general: est },
    overall: est,
    qualifies: [],
    speed: { ttftP10Ms: 120, tokensPerSecondP10: 40, samples: 8 },
    errorRate: 0.01,
    identity: { sharedBackendGroup: null, declaredModel: null, modelTest: "untested", modelTestPValue: null },
    loglikelihood: "supported",
    updatedAt: 1,
  };
}

const scope = Effect.runSync(Scope.make());
let url = "";
let store: EvaluatorStoreImpl;
let clock = 1_000;
const publish = (i: number) => {
  const address = generateKeyPair().address;
  store.startRun({
    id: `r${i}`,
    nodeAddress: address,
    serviceId: "dev-text",
    seed: i,
    suiteHash: "h",
    plannedItems: 1,
    startedAt: 1,
  });
  store.publish(`r${i}`, entry(address, 0.5 + (i % 40) / 100), 1);
};
beforeAll(async () => {
  const context = await Effect.runPromise(Layer.buildWithScope(EvaluatorStore.layerTest, scope));
  store = Context.get(context, EvaluatorStore);
  for (let i = 0; i < 20; i++) publish(i);
  const runtime = await Effect.runPromise(
    Layer.toRuntime(redactingLoggerLayer(createLogger({ app: "evaluator", write: () => {} }))).pipe(
      Scope.extend(scope),
    ),
  );
  const server = await Effect.runPromise(
    Scope.extend(
      serveHttp({
        handler: evaluatorHandler({ store, evaluatorId: "e", now: () => clock }, runtime),
        host: "127.0.0.1",
        port: 0,
      }),
      scope,
    ),
  );
  url = server.url;
});
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)));

const batch = (n: number) => fetch(`${url}/trpc/${Array(n).fill("scores.board").join(",")}?batch=1`);

it("refuses a batch longer than MAX_BATCH_CALLS with INVALID_REQUEST, before building anything", async () => {
  const reads = vi.spyOn(store, "board");
  const refused = await batch(1000);
  expect(refused.status).toBe(400);
  expect(await refused.text()).toContain('"pocketCode":"INVALID_REQUEST"');
  expect(reads).not.toHaveBeenCalled();
  const served = await batch(MAX_BATCH_CALLS);
  expect(served.status).toBe(200);
  expect((await served.json()) as unknown[]).toHaveLength(MAX_BATCH_CALLS);
  reads.mockRestore();
});

it("builds the board once for the tRPC calls of a second, and again after a publish or a second later", async () => {
  const reads = vi.spyOn(store, "board");
  clock += 10_000;
  const count = async () =>
    ((await (await fetch(`${url}/trpc/scores.board`)).json()) as { result: { data: { nodes: unknown[] } } })
      .result.data.nodes.length;
  expect(await count()).toBe(20);
  await batch(MAX_BATCH_CALLS);
  expect(reads).toHaveBeenCalledTimes(1);
  publish(20);
  expect(await count()).toBe(21);
  expect(reads).toHaveBeenCalledTimes(2);
  clock += 1_000;
  await count();
  expect(reads).toHaveBeenCalledTimes(3);
  reads.mockRestore();
});
