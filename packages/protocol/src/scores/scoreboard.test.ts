import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { type NodeScore, Scoreboard, ScoreboardForReaders } from "./scoreboard.js";

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

describe("ScoreboardForReaders", () => {
  const entry: NodeScore = {
    address,
    serviceId: "stable-diffusion",
    categories: { images: { mean: 1, lower: 0.76, upper: 1, n: 12 } },
    qualifies: ["quality-sd"],
    speed: { ttftP10Ms: null, tokensPerSecondP10: null, samples: 0 },
    errorRate: 0,
    identity: { sharedBackendGroup: null, declaredModel: null, modelTest: "untested", modelTestPValue: null },
    loglikelihood: "unknown",
    images: {
      checks: Object.fromEntries(
        ["png", "size", "notBlank", "seed", "distinct"].map((c) => [
          c,
          { mean: 1, lower: 0.76, upper: 1, n: 12 },
        ]),
      ) as NonNullable<NodeScore["images"]>["checks"],
      seedDistance: 0,
      duplicateDistance: 0.4,
      nearDuplicatePairs: 0,
    },
    updatedAt: 1,
  };
  // A board from a newer evaluator: fields added after this package, at every depth.
  const newer = {
    evaluator: "e",
    generatedAt: 1,
    region: "eu",
    nodes: [
      {
        ...entry,
        hardware: { gpu: "h100" },
        identity: { ...entry.identity, watermark: "absent" },
        speed: { ...entry.speed, ttftP50Ms: 80 },
        images: {
          ...entry.images,
          checks: { ...entry.images?.checks, style: { mean: 1, lower: 0.76, upper: 1, n: 12 } },
        },
      },
    ],
  };

  it("accepts and drops fields a newer evaluator added, at the top, in an entry and nested", () => {
    const board: Scoreboard = ScoreboardForReaders.parse(newer);
    expect(board).toEqual({ evaluator: "e", generatedAt: 1, nodes: [entry] });
  });

  it("is what the producer's schema refuses: the evaluator's own output stays strict", () => {
    expect(Scoreboard.safeParse(newer).success).toBe(false);
    expect(Scoreboard.safeParse({ ...newer, nodes: [entry] }).success).toBe(false);
    expect(Scoreboard.safeParse({ evaluator: "e", generatedAt: 1, nodes: [entry] }).success).toBe(true);
  });

  it.each([
    ["a missing required field", { ...entry, errorRate: undefined }],
    ["a wrong type", { ...entry, qualifies: "quality-sd" }],
    ["a wrong nested type", { ...entry, identity: { ...entry.identity, modelTestPValue: "high" } }],
    ["a value outside an enum", { ...entry, loglikelihood: "maybe" }],
  ])("still refuses %s", (_name, node) => {
    expect(ScoreboardForReaders.safeParse({ ...newer, nodes: [node] }).success).toBe(false);
  });
});
