import { generateKeyPair, type NodeScore } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { buildScoreboard } from "../publish/scoreboard.js";
import { EvaluatorStore } from "./evaluator-store.js";
import { nodeScores } from "./schema.js";

describe("EvaluatorStore.openRun", () => {
  it("resumes a node's unfinished run on the same service only (one node, two text services, one suite)", async () => {
    const found = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* EvaluatorStore;
        const row = { nodeAddress: "pokt1node", seed: 7, suiteHash: "suite", plannedItems: 10 };
        store.startRun({ ...row, id: "run-a", serviceId: "llama-2-13b", startedAt: 1 });
        const other = store.openRun("pokt1node", "pocket-tiny", "suite");
        const same = store.openRun("pokt1node", "llama-2-13b", "suite");
        store.finishRun("run-a", "finished", 2);
        const afterFinish = store.openRun("pokt1node", "llama-2-13b", "suite");
        return { other, same, afterFinish };
      }).pipe(Effect.provide(EvaluatorStore.layerTest)),
    );
    expect(found.other).toBeUndefined();
    expect(found.same?.id).toBe("run-a");
    expect(found.afterFinish).toBeUndefined();
  });
});

describe("EvaluatorStore published entries", () => {
  it("reads entries a newer evaluator wrote (unknown fields dropped) and leaves out malformed ones", async () => {
    const { board, published } = await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* EvaluatorStore;
        const entry: NodeScore = {
          address: generateKeyPair().address,
          serviceId: "llama-2-13b",
          categories: {},
          overall: { mean: 0.7, lower: 0.6, upper: 0.8, n: 100 },
          qualifies: ["quality-gpt-3.5"],
          speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 10 },
          errorRate: 0,
          identity: {
            sharedBackendGroup: null,
            declaredModel: null,
            modelTest: "untested",
            modelTestPValue: null,
          },
          loglikelihood: "supported",
          updatedAt: 1,
        };
        // Rows as a newer release writes them (the store is kept when an evaluator is rolled back).
        const newer = { ...entry, region: "eu", identity: { ...entry.identity, watermark: "absent" } };
        const malformed = { ...entry, address: generateKeyPair().address, errorRate: "low" };
        for (const [runId, row] of [
          ["run-new", newer],
          ["run-bad", malformed],
        ] as const)
          store.db
            .insert(nodeScores)
            .values({ nodeAddress: row.address, serviceId: row.serviceId, runId, entry: row, updatedAt: 1 })
            .run();
        return {
          board: buildScoreboard(store, "e", 2),
          published: store.published().map((p) => p.runId),
        };
      }).pipe(Effect.provide(EvaluatorStore.layerTest)),
    );
    expect(published).toEqual(["run-new"]);
    expect(board.nodes).toHaveLength(1);
    expect(board.nodes[0]).not.toHaveProperty("region");
    expect(board.nodes[0]?.identity).not.toHaveProperty("watermark");
    expect(board.nodes[0]?.qualifies).toEqual(["quality-gpt-3.5"]);
  });
});
