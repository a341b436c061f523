import type { NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { buildScoreboard } from "../src/publish/scoreboard.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { type DevNetwork, EVALUATOR_KEY, startDevNetwork } from "./dev-network.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const settings = {
  ...SMALL_TEXT_RUN,
  nodeConcurrency: 7,
  itemsPerTask: 0,
  identityPrompts: 48,
  speedProbes: 6,
};

const RUN_SEED = 20_261_202;

let network: DevNetwork;
let board: NodeScore[] = [];
const entry = (address: string) => board.find((n) => n.address === address)!;

beforeAll(async () => {
  network = await startDevNetwork({ swapAfterRequests: 200 });
  const access = { baseUrl: network.gateway.baseUrl, apiKey: EVALUATOR_KEY, timeoutMs: 20_000, headers: {} };
  const transport = makeOpenAiTransport(access);
  const reference = { transport, model: "dev-q1", targetNode: network.referenceAddress };
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
            // One fixed run seed: the items, their perturbations and the sampling seeds are the same
            // on every run, so the outcome is decided by the nodes' quality, not by a lucky draw.
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
      `${name.padEnd(10)} overall ${fmt(e.overall)} ll=${e.loglikelihood} model=${e.identity.modelTest} p=${e.identity.modelTestPValue?.toExponential(2)} group=${e.identity.sharedBackendGroup}`,
    );
  }
}, 600_000);

afterAll(async () => {
  await network.gateway.close();
});

describe("evaluating dev nodes of known quality", () => {
  it("ranks them in the right order with intervals that separate", () => {
    const best = entry(network.nodes.best.address).overall!;
    const middle = entry(network.nodes.middle.address).overall!;
    const weak = entry(network.nodes.weak.address).overall!;
    expect(best.lower).toBeGreaterThan(middle.upper);
    expect(middle.lower).toBeGreaterThan(weak.upper);
    expect(best.n).toBeGreaterThanOrEqual(200);
  });

  it("flags a node that swaps its model mid-way and clears an honest one", () => {
    expect(entry(network.nodes.swapper.address).identity.modelTest).toBe("inconsistent");
    expect(entry(network.nodes.best.address).identity.modelTest).toBe("consistent");
  });

  it("reports a node without prompt logprobs as unable to run loglikelihood tasks", () => {
    const e = entry(network.nodes.noLogprobs.address);
    expect(e.loglikelihood).toBe("unsupported");
    expect(entry(network.nodes.best.address).loglikelihood).toBe("supported");
    // Its generated items are still scored; the loglikelihood ones are not scored at chance.
    expect(e.overall!.n).toBeLessThan(entry(network.nodes.best.address).overall!.n);
  });

  it("groups two nodes that answer from one backend, and only them", () => {
    const a = entry(network.nodes.twinA.address).identity.sharedBackendGroup;
    expect(a).not.toBeNull();
    expect(entry(network.nodes.twinB.address).identity.sharedBackendGroup).toBe(a);
    for (const other of [network.nodes.middle, network.nodes.noLogprobs, network.nodes.best]) {
      expect(entry(other.address).identity.sharedBackendGroup).not.toBe(a);
    }
  });

  it("publishes speed and tiers", () => {
    const best = entry(network.nodes.best.address);
    expect(best.speed.samples).toBe(6);
    expect(best.speed.tokensPerSecondP10).not.toBeNull();
    expect(entry(network.nodes.weak.address).qualifies).toEqual([]);
  });
});
