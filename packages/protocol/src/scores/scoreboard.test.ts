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

  it("accepts an image node's findings and cached-answer flag, and text entries without them", () => {
    const est = { mean: 0.25, lower: 0.09, upper: 0.53, n: 12 };
    const image = {
      ...entry,
      serviceId: "stable-diffusion",
      categories: { images: est },
      identity: { ...entry.identity, cachedAnswers: true },
      images: {
        checks: { png: est, size: est, notBlank: est, seed: est, distinct: est },
        seedDistance: 0,
        duplicateDistance: 0.02,
        nearDuplicatePairs: 66,
      },
    };
    const board = Scoreboard.parse({ evaluator: "e", generatedAt: 1, nodes: [entry, image] });
    expect(board.nodes[1]?.identity.cachedAnswers).toBe(true);
    expect(board.nodes[0]?.images).toBeUndefined();
  });

  it("accepts how a text node's customers are checked, and boards without it", () => {
    const unchecked = { ...entry, qualifies: [], identity: { ...entry.identity, organicCheck: "none" } };
    const board = Scoreboard.parse({ evaluator: "e", generatedAt: 1, nodes: [unchecked, entry] });
    expect(board.nodes[0]?.identity.organicCheck).toBe("none");
    expect(board.nodes[1]?.identity.organicCheck).toBeUndefined();
  });

  it.each([
    ["an unknown organic check", { identity: { ...entry.identity, organicCheck: "maybe" } }],
    ["a score above 1", { categories: { knowledge: { mean: 1.2, lower: 0.6, upper: 0.8, n: 1 } } }],
    ["an unknown model test result", { identity: { ...entry.identity, modelTest: "maybe" } }],
    ["a bad address", { address: "0xabc" }],
    ["an extra field", { bonus: 1 }],
    [
      "an image finding without its checks",
      { images: { seedDistance: 0, duplicateDistance: 0.5, nearDuplicatePairs: 0 } },
    ],
  ])("refuses %s", (_name, patch) => {
    expect(
      Scoreboard.safeParse({ evaluator: "e", generatedAt: 1, nodes: [{ ...entry, ...patch }] }).success,
    ).toBe(false);
  });
});
