import { createHash } from "node:crypto";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey, type NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { organicMismatch } from "../src/identity/organic-check.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { runNode } from "../src/runs/run-node.js";
import { qualifyingServices } from "../src/scoring/tiers.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

/**
 * Organic checks and the declared-model test need a reference for the node's declared model
 * (`references:`). A node that declares no model, or one no reference serves, is checked on its
 * customers' traffic by the self-consistency check instead: it is asked its customers' requests
 * again as probes, and both answers are scored under the scorer. Without any scorer no check is
 * possible, and the node is granted no quality tier.
 */
const EVALUATOR_KEY = "sk-evaluator-unchecked";
const CUSTOMER_KEY = "sk-customer-unchecked";
const address = (name: string) => keyPairFromPrivateKey(createHash("sha256").update(name).digest()).address;
// The strong model for the evaluator's probes, a weak one for every customer: one such node is
// evaluated with a scorer, the other without any.
const twoFaced = address("unchecked-node");
const twoFacedNoScorer = address("unchecked-node-no-scorer");
const honest = address("unchecked-honest-node");
const scorerNode = address("unchecked-scorer");
const dodger = address("unchecked-dodger");
// 12 items a task: enough for a `general` interval to clear quality-gpt-3.5's bar with a margin
// (where the test needs tiers to be possible); 2 where it does not.
const settings = (items: number) => ({ ...SMALL_TEXT_RUN, itemsPerTask: items });

let gateway: DevGateway;
const entries = new Map<string, NodeScore>();
let notGranted: NodeScore;
const gaps = new Map<string, number[]>();

beforeAll(async () => {
  const strong = createDevTextEngine({ quality: 1 });
  const weak = createDevTextEngine({ quality: 0.2 });
  gateway = await startDevGateway({
    nodes: [
      { address: twoFaced, text: strong, customerText: weak },
      { address: twoFacedNoScorer, text: strong, customerText: weak },
      { address: honest, text: strong },
      { address: scorerNode, text: strong },
      { address: dodger, text: strong, refuseRepeats: true },
    ],
    evaluatorKey: EVALUATOR_KEY,
    customerKey: CUSTOMER_KEY,
  });
  // Customers' traffic, seeded, so a run's outputs and what the checks find are the same every
  // time. Untargeted requests go round the four nodes in turn: blocks of a multiple of four give
  // each node the same share of each kind, about 20 samples a node.
  const customer = new OpenAI({ baseURL: gateway.baseUrl, apiKey: CUSTOMER_KEY, maxRetries: 0 });
  const messages = (i: number) => [
    { role: "system" as const, content: "Continue the story." },
    { role: "user" as const, content: `The farmer walked ${i}` },
  ];
  for (let i = 0; i < 48; i++)
    await customer.completions.create({
      model: "dev-text",
      prompt: `The farmer walked ${i}`,
      max_tokens: 16,
      temperature: 0.8,
      seed: i,
    });
  for (let i = 0; i < 16; i++)
    await customer.chat.completions.create({
      model: "dev-text",
      messages: messages(i),
      max_tokens: 16,
      seed: 100 + i,
    });
  for (let i = 0; i < 16; i++)
    for await (const _ of await customer.chat.completions.create({
      model: "dev-text",
      messages: messages(i + 1),
      max_completion_tokens: 16,
      top_p: 0.9,
      seed: 200 + i,
      stream: true,
    }));
  const transport = makeOpenAiTransport({
    baseUrl: gateway.baseUrl,
    apiKey: EVALUATOR_KEY,
    timeoutMs: 20_000,
    headers: {},
  });
  const scorer = { transport, model: "dev-text", targetNode: scorerNode };
  const node = (a: string): EvaluatedNode => ({
    address: a,
    serviceId: "dev-text",
    model: "dev-text",
    declaredModel: null,
    kind: "text",
  });
  const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport));
  await Effect.runPromise(
    Effect.gen(function* () {
      const tasks = yield* loadSuite([]);
      const store = yield* EvaluatorStore;
      // What the evaluator's app passes for a node that declares no model: no reference, and the
      // scorer when one is configured.
      for (const [a, withScorer, items] of [
        [twoFaced, true, 2],
        [honest, true, 12],
        [twoFacedNoScorer, false, 12],
        [dodger, true, 12],
      ] as const) {
        const entry = yield* runNode({
          node: node(a),
          tasks,
          settings: settings(items),
          seed: 7,
          reference: undefined,
          scorer: withScorer ? scorer : undefined,
        });
        const run = store.published().find((p) => p.entry.address === a)!;
        const rows = store.results(run.runId).filter((r) => r.category === "organic");
        entries.set(a, entry);
        gaps.set(
          a,
          rows.flatMap((r) => (r.status === "scored" && r.stat !== null ? [r.stat] : [])),
        );
      }
      // The honest node once more, as an operator who keeps it from selling quality services
      // (`grantsTiers: false`) would configure it: the same evidence, no tier.
      notGranted = yield* runNode({
        node: { ...node(honest), grantsTiers: false },
        tasks,
        settings: settings(12),
        seed: 8,
        reference: undefined,
        scorer,
      });
    }).pipe(Effect.provide(layer)),
  );
}, 600_000);

afterAll(async () => {
  await gateway.close();
});

describe("a node that declares no model", () => {
  it("is caught serving customers a weaker model than probes: asked its customers' requests again", () => {
    const entry = entries.get(twoFaced)!;
    expect(entry.identity.modelTest).toBe("untested");
    expect(entry.identity.organicCheck).toBe("self");
    expect(gaps.get(twoFaced)!.length).toBeGreaterThanOrEqual(12);
    expect(entry.penalties).toContain("organic-mismatch");
    expect(entry.qualifies).toEqual([]);
  });

  it("is left alone when it serves customers as it serves probes, and keeps its tiers", () => {
    const entry = entries.get(honest)!;
    const own = gaps.get(honest)!;
    expect(entry.identity.organicCheck).toBe("self");
    expect(own.length).toBeGreaterThanOrEqual(12);
    // The board says how many of its customers' answers were checked: the evidence behind "self".
    expect(entry.identity.organicChecked).toBe(own.length);
    expect(organicMismatch(own)).toBe(false);
    expect(entry.penalties ?? []).toEqual([]);
    expect(entry.qualifies).toContain("quality-gpt-3.5");
  });

  it("is not granted quality tiers while no check of its customers' answers is possible", () => {
    const entry = entries.get(twoFacedNoScorer)!;
    expect(entry.identity.organicCheck).toBe("none");
    expect(entry.identity.organicChecked).toBeUndefined();
    // Its probe scores clear the bar: the tier is withheld, not failed, and no penalty is made up.
    expect(qualifyingServices(entry.categories)).toContain("quality-gpt-3.5");
    expect(entry.qualifies).toEqual([]);
    expect(entry.penalties ?? []).toEqual([]);
    // Its customers' relays stay with the gateway: no check that cannot run takes them.
    expect(gaps.get(twoFacedNoScorer)).toEqual([]);
  });

  it("is measured but granted no tier where the operator configured it so (grantsTiers: false)", () => {
    expect(entries.get(honest)!.qualifies).toContain("quality-gpt-3.5");
    expect(notGranted.categories.general).toBeDefined();
    expect(notGranted.qualifies).toEqual([]);
    expect(notGranted.penalties ?? []).toEqual([]);
  });

  it("is caught failing the repeats of its customers' requests: no tier, the same finding", () => {
    const entry = entries.get(dodger)!;
    // It answers probes as well as the honest node does, and clears the bar on them.
    expect(entry.categories.general).toBeDefined();
    expect(gaps.get(dodger)).toEqual([]);
    expect(entry.penalties).toContain("organic-mismatch");
    expect(entry.qualifies).toEqual([]);
  });
});
