import { createHash } from "node:crypto";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey, type NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode, RunSettings } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";

const EVALUATOR_KEY = "sk-evaluator-organic";
const CUSTOMER_KEY = "sk-customer-organic";
const settings: RunSettings = {
  perNodeRatePerSecond: 5000,
  nodeConcurrency: 2,
  itemsPerTask: 2,
  identityPrompts: 24,
  speedProbes: 2,
  imageProbes: 0,
  imageSeedRepeats: 0,
  imageContentProbes: 0,
  imageReferenceProbes: 0,
  imageMinSide: 64,
  imageMaxSide: 64,
  evidenceDecay: 0.7,
  evidenceRounds: 8,
  roundIntervalMs: 60_000,
};

const address = (i: number) =>
  keyPairFromPrivateKey(createHash("sha256").update(`organic-node-${i}`).digest()).address;
const PROMPTS = [
  "The farmer walked to the market and",
  "In the old city the river",
  "Every morning the teacher",
  "One day a robot in the library",
  "The train left the mountain station and",
  "Near the garden the children",
];

let gateway: DevGateway;
const honest = address(0);
const twoFaced = address(1);
const reference = address(2);
let entries: Record<string, NodeScore>;

beforeAll(async () => {
  const strong = createDevTextEngine({ quality: 1 });
  gateway = await startDevGateway({
    nodes: [
      { address: honest, text: strong },
      // Serves the strong model to the evaluator's probes and a weak one to customers.
      { address: twoFaced, text: strong, customerText: createDevTextEngine({ quality: 0.2 }) },
      { address: reference, text: strong },
    ],
    evaluatorKey: EVALUATOR_KEY,
    customerKey: CUSTOMER_KEY,
  });
  // Customers' ordinary traffic; the gateway holds what it answered for organic checks.
  const customer = new OpenAI({ baseURL: gateway.baseUrl, apiKey: CUSTOMER_KEY, maxRetries: 0 });
  for (let i = 0; i < 90; i++) {
    await customer.completions.create({
      model: "dev-text",
      prompt: PROMPTS[i % PROMPTS.length]!,
      max_tokens: 16,
      temperature: 0.8,
    });
  }
  const transport = makeOpenAiTransport({
    baseUrl: gateway.baseUrl,
    apiKey: EVALUATOR_KEY,
    timeoutMs: 20_000,
    headers: {},
  });
  const node = (a: string): EvaluatedNode => ({
    address: a,
    serviceId: "dev-text",
    model: "dev-text",
    declaredModel: "dev-q1",
    kind: "text",
  });
  const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
  const scored = await Effect.runPromise(
    Effect.gen(function* () {
      const tasks = yield* loadSuite([]);
      return yield* Effect.forEach([honest, twoFaced], (a) =>
        runNode({
          node: node(a),
          tasks,
          settings,
          seed: 7,
          reference: { transport, model: "dev-q1", targetNode: reference },
        }),
      );
    }).pipe(Effect.provide(layer)),
  );
  entries = Object.fromEntries(scored.map((e) => [e.address, e]));
}, 600_000);

afterAll(async () => {
  await gateway.close();
});

describe("organic checks", () => {
  it("catch a node that serves probes a strong model and customers a weak one", () => {
    const cheat = entries[twoFaced]!;
    // The probes alone are fooled: the declared-model test passes on probe traffic.
    expect(cheat.identity.modelTest).not.toBe("inconsistent");
    expect(cheat.penalties).toContain("organic-mismatch");
    expect(cheat.qualifies).toEqual([]);
  });

  it("leave an honest node alone", () => {
    expect(entries[honest]!.penalties ?? []).not.toContain("organic-mismatch");
  });
});
