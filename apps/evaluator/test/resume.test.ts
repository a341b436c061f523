import { createHash } from "node:crypto";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { Deferred, Effect, Fiber, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const settings = SMALL_TEXT_RUN;
// A fixed node key and run seed: the plan, and where the first run stops in it, repeat every run.
const address = keyPairFromPrivateKey(createHash("sha256").update("resume-node").digest()).address;
const RUN_SEED = 20_261_202;
const node: EvaluatedNode = {
  address,
  serviceId: "dev-text",
  model: "dev-text",
  declaredModel: null,
  kind: "text",
};
let gateway: DevGateway;

beforeAll(async () => {
  gateway = await startDevGateway({
    nodes: [{ address, text: createDevTextEngine({ quality: 1 }) }],
    evaluatorKey: "k",
    customerKey: "c",
  });
});
afterAll(() => gateway.close());

describe("a run stopped mid-way", () => {
  it("resumes with the same plan and does not repeat finished steps", async () => {
    const transport = makeOpenAiTransport({
      baseUrl: gateway.baseUrl,
      apiKey: "k",
      timeoutMs: 10_000,
      headers: {},
    });
    const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const tasks = yield* loadSuite([]);
        const halfway = yield* Deferred.make<number>();
        let total = 0;
        const first = yield* Effect.fork(
          runNode({
            node,
            tasks,
            settings,
            seed: RUN_SEED,
            onProgress: (done, all) => {
              total = all;
              if (done === 20) Deferred.unsafeDone(halfway, Effect.succeed(done));
            },
          }),
        );
        yield* Deferred.await(halfway);
        yield* Fiber.interrupt(first);
        const before = gateway.requests.get(address) ?? 0;
        let firstProgress = -1;
        const entry = yield* runNode({
          node,
          tasks,
          settings,
          onProgress: (done) => {
            if (firstProgress < 0) firstProgress = done;
          },
        });
        const store = yield* EvaluatorStore;
        const run = store.published().find((p) => p.entry.address === address)!;
        const wholeRun = store.results(run.runId).reduce((a, r) => a + r.probes, 0);
        return { entry, total, firstProgress, before, after: gateway.requests.get(address) ?? 0, wholeRun };
      }).pipe(Effect.provide(layer)),
    );
    expect(result.firstProgress).toBeGreaterThanOrEqual(20);
    expect(result.entry.overall?.n).toBe(13 * 4);
    // The second process only sent what was left: fewer requests than a whole run needs.
    expect(result.after - result.before).toBeLessThan(result.wholeRun);
    expect(result.total).toBe(13 * 4 + 10 + 2);
  });
});
