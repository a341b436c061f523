import { createHash } from "node:crypto";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey } from "@pocket-ai/protocol";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { type DevGateway, type DevNodeSpec, startDevGateway } from "./dev-gateway.js";

export const EVALUATOR_KEY = "sk-evaluator-test";
export const CUSTOMER_KEY = "sk-customer-test";

/** A test network of dev nodes with known, different qualities and the faults the evaluator must catch. */
export interface DevNetwork {
  readonly gateway: DevGateway;
  readonly nodes: Record<
    "best" | "middle" | "weak" | "swapper" | "noLogprobs" | "twinA" | "twinB",
    EvaluatedNode
  >;
  readonly referenceAddress: string;
}

export async function startDevNetwork(options: { readonly swapAfterRequests: number }): Promise<DevNetwork> {
  // Fixed keys: the evaluator derives each item's randomness from the node's address, so the same
  // addresses give the same items, perturbations and sampling seeds on every run.
  let nextKey = 0;
  const address = () =>
    keyPairFromPrivateKey(createHash("sha256").update(`dev-network-node-${nextKey++}`).digest()).address;
  const shared = createDevTextEngine({ quality: 0.8 });
  const specs = {
    best: { address: address(), text: createDevTextEngine({ quality: 1 }) },
    middle: { address: address(), text: createDevTextEngine({ quality: 0.6 }) },
    weak: { address: address(), text: createDevTextEngine({ quality: 0.3 }) },
    swapper: {
      address: address(),
      text: createDevTextEngine({ quality: 1 }),
      swapAfterRequests: options.swapAfterRequests,
      swapTo: createDevTextEngine({ quality: 0.3 }),
    },
    noLogprobs: { address: address(), text: createDevTextEngine({ quality: 0.9 }), dropPromptLogprobs: true },
    twinA: { address: address(), text: shared },
    twinB: { address: address(), text: shared },
  } satisfies Record<string, DevNodeSpec>;
  const reference = { address: address(), text: createDevTextEngine({ quality: 1 }) };
  const gateway = await startDevGateway({
    nodes: [...Object.values(specs), reference],
    evaluatorKey: EVALUATOR_KEY,
    customerKey: CUSTOMER_KEY,
  });
  const node = (spec: { address: string }, declaredModel: string | null): EvaluatedNode => ({
    address: spec.address,
    serviceId: "dev-text",
    model: "dev-text",
    declaredModel,
    kind: "text",
  });
  return {
    gateway,
    referenceAddress: reference.address,
    nodes: {
      best: node(specs.best, "dev-q1"),
      middle: node(specs.middle, null),
      weak: node(specs.weak, null),
      swapper: node(specs.swapper, "dev-q1"),
      noLogprobs: node(specs.noLogprobs, null),
      twinA: node(specs.twinA, null),
      twinB: node(specs.twinB, null),
    },
  };
}
