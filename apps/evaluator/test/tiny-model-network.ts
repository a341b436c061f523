import { createHash } from "node:crypto";
import { makeGgufBackend } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey } from "@pocket-ai/protocol";
import { type TinyModelName, tinyModelPath } from "@pocket-ai/tiny-model";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";

export const TINY_EVALUATOR_KEY = "sk-evaluator-tiny";

/**
 * A test network whose nodes run real neural models: the project's tiny llama checkpoints
 * (`tooling/tiny-model`), each in llama.cpp through the node's `gguf` backend. Three nodes serve
 * the early, middle and final checkpoints; an impostor declares the final model but serves the
 * early one; a reference node serves the final model for the declared-model test.
 */
export interface TinyModelNetwork {
  readonly gateway: DevGateway;
  readonly nodes: Record<"final" | "mid" | "early" | "impostor", EvaluatedNode>;
  readonly referenceAddress: string;
}

function ggufBackend(name: TinyModelName) {
  return makeGgufBackend({
    kind: "gguf",
    modelPath: tinyModelPath(name),
    gpu: "off",
    // The tiny model needs one thread; more only contend on a busy test machine.
    threads: 1,
    maxConcurrency: 2,
    maxQueue: 64,
    timeoutMs: 60_000,
    quality: 1,
    tokensPerSecond: 0,
    probeAtStart: true,
    firstTokenMs: 0,
  });
}

export async function startTinyModelNetwork(): Promise<TinyModelNetwork> {
  let nextKey = 0;
  const address = () =>
    keyPairFromPrivateKey(createHash("sha256").update(`tiny-model-node-${nextKey++}`).digest()).address;
  const specs = {
    final: { address: address(), backend: ggufBackend("pocket-tiny") },
    mid: { address: address(), backend: ggufBackend("pocket-tiny-mid") },
    early: { address: address(), backend: ggufBackend("pocket-tiny-early") },
    impostor: { address: address(), backend: ggufBackend("pocket-tiny-early") },
  };
  const reference = { address: address(), backend: ggufBackend("pocket-tiny") };
  const gateway = await startDevGateway({
    nodes: [...Object.values(specs), reference],
    evaluatorKey: TINY_EVALUATOR_KEY,
  });
  const node = (spec: { address: string }, declaredModel: string | null): EvaluatedNode => ({
    address: spec.address,
    serviceId: "tiny-text",
    model: "pocket-tiny",
    declaredModel,
    kind: "text",
  });
  return {
    gateway,
    referenceAddress: reference.address,
    nodes: {
      final: node(specs.final, "pocket-tiny"),
      mid: node(specs.mid, null),
      early: node(specs.early, null),
      impostor: node(specs.impostor, "pocket-tiny"),
    },
  };
}
