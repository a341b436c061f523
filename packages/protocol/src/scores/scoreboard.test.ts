import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { Scoreboard } from "./scoreboard.js";

const address = generateKeyPair().address;

describe("Scoreboard", () => {
  const entry = {
    address,
    serviceId: "llama-2-13b",
    categories: { knowledge: { mean: 0.7, lower: 0.6, upper: 0.8, n: 80 } },
    qualifies: ["quality-gpt-3.5"],
    speed: { ttftP10Ms: 150, tokensPerSecondP10: 30, samples: 20 },
    errorRate: 0,
    identity: {
      sharedBackendGroup: null,
      declaredModel: "llama-2-13b",
      modelTest: "consistent",
      modelTestPValue: 0.5,
    },
    loglikelihood: "supported",
    updatedAt: 1,
  };

  it("accepts a well-formed board", () => {
    expect(Scoreboard.parse({ evaluator: "e", generatedAt: 1, nodes: [entry] }).nodes).toHaveLength(1);
  });

  it.each([
    ["a score above 1", { categories: { knowledge: { mean: 1.2, lower: 0.6, upper: 0.8, n: 1 } } }],
    ["an unknown model test result", { identity: { ...entry.identity, modelTest: "maybe" } }],
    ["a bad address", { address: "0xabc" }],
    ["an extra field", { bonus: 1 }],
  ])("refuses %s", (_name, patch) => {
    expect(
      Scoreboard.safeParse({ evaluator: "e", generatedAt: 1, nodes: [{ ...entry, ...patch }] }).success,
    ).toBe(false);
  });
});
