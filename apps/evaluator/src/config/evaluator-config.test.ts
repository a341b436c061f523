import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@pocket-ai/protocol";
import { loadConfig } from "@pocket-ai/runtime";
import { Effect, Either } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { EvaluatorConfig } from "./evaluator-config.js";

const address = generateKeyPair().address;
const dir = mkdtempSync(join(tmpdir(), "evaluator-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The evaluator's config read from a file whose one node declares `declaredModel`. */
function load(declaredModel: string, extra: Record<string, unknown> = {}) {
  const file = join(dir, "evaluator.json");
  writeFileSync(
    file,
    JSON.stringify({
      gateway: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-evaluator" },
      nodes: [{ address, serviceId: "llama-2-13b", declaredModel }],
      ...extra,
    }),
  );
  return Effect.runSync(
    Effect.either(loadConfig({ schema: EvaluatorConfig, file, envPrefix: "POCKET_EVALUATOR", env: {} })),
  );
}

const BAD_NAMES = [
  ["too long", "m".repeat(201)],
  ["a line break", "llama\nforged line"],
  ["a terminal escape", "llama\u001b[2J"],
  ["a right-to-left override", "llama\u202e"],
  ["empty", ""],
] as const;

describe("a node's declaredModel in the evaluator's config", () => {
  it("is taken as a node would announce it", () => {
    const loaded = load("meta-llama/Llama-2-13b-chat-hf");
    expect(Either.isRight(loaded) && loaded.right.nodes[0]?.declaredModel).toBe(
      "meta-llama/Llama-2-13b-chat-hf",
    );
  });

  it.each(BAD_NAMES)(
    "is refused at start with INVALID_CONFIG naming the field when %s",
    (_name, declaredModel) => {
      const loaded = load(declaredModel);
      expect(Either.isLeft(loaded)).toBe(true);
      if (Either.isLeft(loaded)) {
        expect(loaded.left.code).toBe("INVALID_CONFIG");
        expect(loaded.left.message).toContain("nodes.0.declaredModel: ");
      }
    },
  );
});

describe("the names of references and the scorer in the evaluator's config", () => {
  const declared = "meta-llama/Llama-2-13b-chat-hf";
  const reference = { model: "llama-2-13b", targetNode: address };

  it("are taken by the rule of a declared model", () => {
    const loaded = load(declared, { references: { [declared]: reference }, scorer: declared });
    expect(Either.isRight(loaded) && loaded.right.scorer).toBe(declared);
  });

  it("refuse a scorer that names no entry of references, an inherited name included", () => {
    for (const scorer of ["judge", "constructor", "toString"]) {
      const loaded = load(declared, { references: { [declared]: reference }, scorer });
      expect(Either.isLeft(loaded) && loaded.left.message).toContain(
        `scorer: '${scorer}' is not an entry of references: name one of ${declared}`,
      );
    }
  });

  it.each(BAD_NAMES)(
    "are refused at start with INVALID_CONFIG naming the field, and not repeated, when %s",
    (_name, bad) => {
      for (const [extra, field] of [
        [{ references: { [declared]: reference, [bad]: reference } }, "references: the name of entry 2 "],
        [{ references: { [declared]: reference }, scorer: bad }, "scorer: "],
      ] as const) {
        const loaded = load(declared, extra);
        expect(Either.isLeft(loaded)).toBe(true);
        if (Either.isLeft(loaded)) {
          expect(loaded.left.code).toBe("INVALID_CONFIG");
          expect(loaded.left.message).toContain(field);
          if (bad !== "") expect(loaded.left.message).not.toContain(bad);
        }
      }
    },
  );
});

describe("the model names a node's entry and a reference send in requests", () => {
  const declared = "meta-llama/Llama-2-13b-chat-hf";

  it("are taken by the rule of a declared model, and a node's service by the catalog's slug rule", () => {
    const loaded = load(declared, {
      nodes: [{ address, serviceId: "llama-2-13b", model: "quality-gpt-3.5", declaredModel: declared }],
      references: { [declared]: { model: "meta-llama/Llama-2-13b-chat-hf", targetNode: address } },
    });
    expect(Either.isRight(loaded) && loaded.right.nodes[0]?.model).toBe("quality-gpt-3.5");
  });

  it.each(BAD_NAMES)("are refused at start with INVALID_CONFIG naming the field when %s", (_name, bad) => {
    for (const [extra, field] of [
      [{ nodes: [{ address, serviceId: "llama-2-13b", model: bad }] }, "nodes.0.model: "],
      [{ references: { [declared]: { model: bad, targetNode: address } } }, `references.${declared}.model: `],
    ] as const) {
      const loaded = load(declared, extra);
      expect(Either.isLeft(loaded)).toBe(true);
      if (Either.isLeft(loaded)) {
        expect(loaded.left.code).toBe("INVALID_CONFIG");
        expect(loaded.left.message).toContain(field);
      }
    }
  });

  it("refuse a node's service id that is no catalog slug", () => {
    const loaded = load(declared, { nodes: [{ address, serviceId: "Llama 2\u001b[2J" }] });
    expect(Either.isLeft(loaded) && loaded.left.message).toContain("nodes.0.serviceId: ");
  });
});
