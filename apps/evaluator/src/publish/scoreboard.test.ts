import { generateKeyPair, type NodeScore } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { currentBoard } from "../app/evaluator-app.js";
import { EvaluatorConfig } from "../config/evaluator-config.js";
import { EvaluatorStore } from "../db/evaluator-store.js";
import { nodeScores } from "../db/schema.js";
import { buildScoreboard, measuredNodes } from "./scoreboard.js";

const entry = (address: string, serviceId: string): NodeScore => ({
  address,
  serviceId,
  categories: {},
  overall: { mean: 0.9, lower: 0.8, upper: 0.95, n: 100 },
  qualifies: ["quality-gpt-3.5"],
  speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 10 },
  errorRate: 0,
  identity: { sharedBackendGroup: null, declaredModel: null, modelTest: "untested", modelTestPValue: null },
  loglikelihood: "supported",
  updatedAt: 1,
});

describe("the published scoreboard", () => {
  it("leaves out the entries of nodes (and services) the evaluator no longer measures, so their tiers do not stand unchecked", async () => {
    const kept = generateKeyPair().address;
    const dropped = generateKeyPair().address;
    const config = EvaluatorConfig.parse({
      gateway: { baseUrl: "http://127.0.0.1:1/v1", apiKey: "k" },
      nodes: [{ address: kept, serviceId: "llama-2-13b" }],
    });
    const boards = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* EvaluatorStore;
        const rows = [entry(kept, "llama-2-13b"), entry(kept, "mistral-7b"), entry(dropped, "llama-2-13b")];
        rows.forEach((row, i) => {
          store.db
            .insert(nodeScores)
            .values({
              nodeAddress: row.address,
              serviceId: row.serviceId,
              runId: `run-${i}`,
              entry: row,
              updatedAt: 1,
            })
            .run();
        });
        return {
          everything: buildScoreboard(store, "e", 2),
          measured: buildScoreboard(store, "e", 2, measuredNodes(config.nodes)),
          served: yield* currentBoard(config),
        };
      }).pipe(Effect.provide(EvaluatorStore.layerTest)),
    );
    expect(boards.everything.nodes).toHaveLength(3);
    for (const board of [boards.measured, boards.served])
      expect(board.nodes.map((n) => [n.address, n.serviceId])).toEqual([[kept, "llama-2-13b"]]);
  });
});
