import type { NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { buildScoreboard } from "../src/publish/scoreboard.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";
import { startTinyModelNetwork, TINY_EVALUATOR_KEY, type TinyModelNetwork } from "./tiny-model-network.js";

// Fewer items than the dev-node ranking test: these nodes run a real network in llama.cpp.
const settings = { ...SMALL_TEXT_RUN, nodeConcurrency: 4, identityPrompts: 16 };

const RUN_SEED = 20_261_203;

let network: TinyModelNetwork;
let board: NodeScore[] = [];
const entry = (address: string) => board.find((n) => n.address === address)!;

beforeAll(async () => {
  network = await startTinyModelNetwork();
  const access = {
    baseUrl: network.gateway.baseUrl,
    apiKey: TINY_EVALUATOR_KEY,
    timeoutMs: 60_000,
    headers: {},
  };
  const transport = makeOpenAiTransport(access);
  const reference = { transport, model: "pocket-tiny", targetNode: network.referenceAddress };
  const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
  board = await Effect.runPromise(
    Effect.gen(function* () {
      const tasks = yield* loadSuite([]);
      yield* Effect.forEach(
        Object.values(network.nodes),
        (node) =>
          runNode({
            node,
            tasks,
            settings,
            seed: RUN_SEED,
            reference: node.declaredModel === null ? undefined : reference,
          }),
        { concurrency: settings.nodeConcurrency },
      );
      const store = yield* EvaluatorStore;
      return buildScoreboard(store, "test-evaluator", Date.now()).nodes;
    }).pipe(Effect.provide(layer)),
  );
  const fmt = (e: NodeScore["overall"]) =>
    e ? `${e.mean.toFixed(3)} [${e.lower.toFixed(3)}, ${e.upper.toFixed(3)}] n=${e.n}` : "-";
  for (const [name, node] of Object.entries(network.nodes)) {
    const e = entry(node.address);
    console.log(
      `${name.padEnd(9)} overall ${fmt(e.overall)} ll=${e.loglikelihood} model=${e.identity.modelTest} p=${e.identity.modelTestPValue?.toExponential(2)}`,
    );
  }
}, 600_000);

afterAll(async () => {
  await network.gateway.close();
});

describe("evaluating nodes that run the tiny llama model in llama.cpp", () => {
  it("ranks the final checkpoint above the middle one and the middle one above the early one", () => {
    const final = entry(network.nodes.final.address).overall!;
    const mid = entry(network.nodes.mid.address).overall!;
    const early = entry(network.nodes.early.address).overall!;
    // One fixed run seed, so these are the same on every run; the early checkpoint is far behind.
    expect(final.mean).toBeGreaterThan(mid.mean);
    expect(final.lower).toBeGreaterThan(early.upper);
    expect(mid.lower).toBeGreaterThan(early.upper);
  });

  it("runs loglikelihood tasks on them: the embedded engine returns prompt logprobs", () => {
    for (const node of Object.values(network.nodes))
      expect(entry(node.address).loglikelihood).toBe("supported");
  });

  it("clears the node that serves its declared model and flags the one that serves another", () => {
    expect(entry(network.nodes.final.address).identity.modelTest).toBe("consistent");
    expect(entry(network.nodes.impostor.address).identity.modelTest).toBe("inconsistent");
  });
});
