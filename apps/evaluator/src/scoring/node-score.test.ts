import { NodeScore } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { scoredItem } from "../../test/item-rows.js";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { nodeScoreOf } from "./node-score.js";

const node: EvaluatedNode = {
  address: "pokt1w508d6qejxtdg4y5r3zarvary0c5xw7k8mgwnq",
  serviceId: "llama-2-13b",
  declaredModel: null,
  kind: "text",
};

const row = (i: number, patch: Partial<ItemResultRow>): ItemResultRow => scoredItem(`quiz/${i}`, i, patch);

const entryOf = (rows: readonly ItemResultRow[]) =>
  nodeScoreOf({
    node,
    rows,
    loglikelihoodTasks: new Map(),
    sharedBackendGroup: null,
    bars: [],
    organicCheck: "reference",
    now: 1,
  });

/** A speed probe that failed with `errorCode`. */
const failedSpeedProbe = (i: number, errorCode: string): ItemResultRow =>
  row(i, { itemKey: `speed/${i}`, kind: "speed", category: null, status: "error", score: null, errorCode });

describe("a node's entry", () => {
  it("counts in its error rate the probes the node failed, not those the gateway refused", () => {
    const answered = Array.from({ length: 8 }, (_, i) => row(i, {}));
    // The evaluator's key ran out of budget for two speed probes: nothing the node did.
    const gateway = [10, 11].map((i) => failedSpeedProbe(i, "BUDGET_EXHAUSTED"));
    const failed = [12, 13].map((i) => failedSpeedProbe(i, "NODE_FAILED"));
    expect(entryOf([...answered, ...gateway]).errorRate).toBe(0);
    expect(entryOf([...answered, ...gateway, ...failed]).errorRate).toBeCloseTo(2 / 10, 9);
    const parsed = NodeScore.safeParse(entryOf([...answered, ...gateway, ...failed]));
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});
