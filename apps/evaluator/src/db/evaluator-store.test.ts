import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { EvaluatorStore } from "./evaluator-store.js";

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
