import { createDevTextEngine } from "@pocket-ai/node/fakes";
import type { NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";
import { devTextNode, STORY_PROMPTS, testNodeAddress } from "./organic-fixtures.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const EVALUATOR_KEY = "sk-evaluator-noticing";
const CUSTOMER_KEY = "sk-customer-noticing";
const settings = { ...SMALL_TEXT_RUN, itemsPerTask: 2 };
/** Samples the gateway holds per node: the older go as newer come, as they expire at a real one. */
const HELD = 24;

const address = (i: number) => testNodeAddress("noticing-node", i);
const PROMPTS = STORY_PROMPTS;

let gateway: DevGateway;
const noticing = address(0);
const reference = address(1);
let entry: NodeScore;
let organicRows: number;
let customerRequestsWhileProbed = 0;

/** Customers' unary completions: untargeted, so every other one reaches each of the two nodes. */
async function customerTraffic(customer: OpenAI, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++)
    await customer.completions.create({
      model: "dev-text",
      prompt: PROMPTS[i % PROMPTS.length]!,
      max_tokens: 16,
      temperature: 0.8,
      seed: i,
    });
}

beforeAll(async () => {
  const customer = () => new OpenAI({ baseURL: gateway.baseUrl, apiKey: CUSTOMER_KEY, maxRetries: 0 });
  gateway = await startDevGateway({
    nodes: [
      {
        address: noticing,
        text: createDevTextEngine({ quality: 1 }),
        customerText: createDevTextEngine({ quality: 0.2 }),
        // While the run's probes come, customers keep sending traffic, and the node serves it the
        // strong model: enough relays to replace every sample it held from before.
        honestOnceProbed: {
          onNoticed: async () => {
            await customerTraffic(customer(), 1000, 2 * HELD);
            customerRequestsWhileProbed = 2 * HELD;
          },
        },
      },
      { address: reference, text: createDevTextEngine({ quality: 1 }) },
    ],
    evaluatorKey: EVALUATOR_KEY,
    customerKey: CUSTOMER_KEY,
    heldPerNode: HELD,
  });
  // Before the run: the node serves its customers a weak model.
  await customerTraffic(customer(), 0, 2 * HELD);
  const transport = makeOpenAiTransport({
    baseUrl: gateway.baseUrl,
    apiKey: EVALUATOR_KEY,
    timeoutMs: 20_000,
    headers: {},
  });
  const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
  const scored = await Effect.runPromise(
    Effect.gen(function* () {
      const tasks = yield* loadSuite([]);
      const store = yield* EvaluatorStore;
      const published = yield* runNode({
        node: devTextNode(noticing),
        tasks,
        settings,
        seed: 11,
        reference: { transport, model: "dev-q1", targetNode: reference },
      });
      const run = store.published().find((p) => p.entry.address === noticing)!;
      return { published, rows: store.results(run.runId).filter((r) => r.category === "organic").length };
    }).pipe(Effect.provide(layer)),
  );
  entry = scored.published;
  organicRows = scored.rows;
}, 600_000);

afterAll(async () => {
  await gateway.close();
});

describe("organic samples taken before the first probe", () => {
  it("catch a node that serves customers honestly only once it notices a run", () => {
    // The node did notice: customers' relays came while it was probed and got the strong model.
    expect(customerRequestsWhileProbed).toBe(2 * HELD);
    expect(organicRows).toBeGreaterThanOrEqual(HELD - 4);
    // The probes alone are fooled; the samples from before the run are not.
    expect(entry.identity.modelTest).not.toBe("inconsistent");
    expect(entry.penalties ?? []).toContain("organic-mismatch");
    expect(entry.qualifies).toEqual([]);
  });
});
