import { keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { EvaluatorConfig } from "../config/evaluator-config.js";
import { endpointsFor, scorerName, uncheckedNodes } from "./evaluator-app.js";

const ref = (model: string) => ({ gateway: { baseUrl: "http://ref.example/v1", apiKey: "k" }, model });
const A = keyPairFromPrivateKey(new Uint8Array(32).fill(7)).address;
const configOf = (extra: Record<string, unknown>) =>
  EvaluatorConfig.parse({ gateway: { baseUrl: "http://gw.example/v1", apiKey: "k" }, ...extra });
const nodes = [
  { address: A, serviceId: "llama-2-13b", declaredModel: "meta-llama/Llama-2-13b-chat-hf" },
  { address: A, serviceId: "mistral-7b" },
  { address: A, serviceId: "stable-diffusion", kind: "image" },
];

describe("the scorer of self-consistency organic checks", () => {
  it("defaults to the first reference a text node declares, never an image reference", () => {
    const config = configOf({
      nodes,
      references: {
        "stable-diffusion": ref("stable-diffusion"),
        "meta-llama/Llama-2-13b-chat-hf": ref("llama-2-13b"),
      },
    });
    expect(scorerName(config)).toBe("meta-llama/Llama-2-13b-chat-hf");
    expect(uncheckedNodes(config, config.nodes)).toEqual([]);
    // What each node's run gets: its own reference, else (text) the scorer.
    const models = config.nodes.map((n) => {
      const e = endpointsFor(config, n);
      return `${e.reference?.model ?? "-"}/${e.scorer?.model ?? "-"}`;
    });
    expect(models).toEqual(["llama-2-13b/-", "-/llama-2-13b", "stable-diffusion/-"]);
  });

  it("is what a node whose declared model is an inherited name gets, not a reference", () => {
    const config = configOf({
      nodes: [
        { address: A, serviceId: "llama-2-13b", declaredModel: "constructor" },
        { address: A, serviceId: "stable-diffusion", kind: "image", declaredModel: "toString" },
      ],
      references: { "meta-llama/Llama-2-13b-chat-hf": ref("llama-2-13b") },
      scorer: "meta-llama/Llama-2-13b-chat-hf",
    });
    expect(config.nodes.map((n) => endpointsFor(config, n))).toEqual([
      { scorer: expect.objectContaining({ model: "llama-2-13b" }) },
      {},
    ]);
  });

  it("is the one `scorer:` names", () => {
    const config = configOf({
      nodes,
      references: { "meta-llama/Llama-2-13b-chat-hf": ref("llama-2-13b"), judge: ref("judge-model") },
      scorer: "judge",
    });
    expect(scorerName(config)).toBe("judge");
  });

  it("is missing without a text reference: text nodes without their own are unchecked", () => {
    const config = configOf({ nodes, references: { "stable-diffusion": ref("stable-diffusion") } });
    expect(scorerName(config)).toBeUndefined();
    // The llama node's declared model has no reference either; the image node is not a text node.
    expect(config.nodes.map((n) => endpointsFor(config, n).scorer)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(uncheckedNodes(config, config.nodes).map((n) => n.serviceId)).toEqual([
      "llama-2-13b",
      "mistral-7b",
    ]);
  });

  it("may be a node reached through the evaluator's own gateway, but only pinned to it", () => {
    const pinned = configOf({
      nodes,
      references: { judge: { model: "judge-model", targetNode: A } },
      scorer: "judge",
    });
    expect(scorerName(pinned)).toBe("judge");
    expect(pinned.references.judge?.gateway).toBeUndefined();
    const unpinned = EvaluatorConfig.safeParse({
      gateway: { baseUrl: "http://gw.example/v1", apiKey: "k" },
      references: { judge: { model: "judge-model" } },
    });
    expect(unpinned.success).toBe(false);
    expect(unpinned.error?.issues[0]?.path).toEqual(["references", "judge"]);
  });

  it("must be an entry of references", () => {
    const parsed = EvaluatorConfig.safeParse({
      gateway: { baseUrl: "http://gw.example/v1", apiKey: "k" },
      references: { judge: ref("judge-model") },
      scorer: "jduge",
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(["scorer"]);
    expect(parsed.error?.issues[0]?.message).toContain("name one of judge");
  });
});
