import { createDevTextEngine } from "@pocket-ai/node/fakes";
import type { NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { organicMismatch } from "../src/identity/organic-check.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { sha256Hex } from "../src/runs/rng.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";
import { devTextNode, STORY_PROMPTS, testNodeAddress } from "./organic-fixtures.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const EVALUATOR_KEY = "sk-evaluator-organic";
const CUSTOMER_KEY = "sk-customer-organic";
const settings = { ...SMALL_TEXT_RUN, nodeConcurrency: 2, itemsPerTask: 2, identityPrompts: 24 };

const address = (i: number) => testNodeAddress("organic-node", i);
const PROMPTS = STORY_PROMPTS;

let gateway: DevGateway;
const honest = address(0);
const twoFaced = address(1);
const reference = address(2);
// Serves customers' unary completions honestly — the one kind organic checks used to sample — and
// a weak model to their chats and streams.
const chatCheat = address(3);
let entries: Record<string, NodeScore>;
let organicRows: Record<string, { stat: number | null; promptHash: string }[]>;

beforeAll(async () => {
  const strong = createDevTextEngine({ quality: 1 });
  gateway = await startDevGateway({
    nodes: [
      { address: honest, text: strong },
      // Serves the strong model to the evaluator's probes and a weak one to customers.
      { address: twoFaced, text: strong, customerText: createDevTextEngine({ quality: 0.2 }) },
      { address: reference, text: strong },
      {
        address: chatCheat,
        text: strong,
        customerText: createDevTextEngine({ quality: 0.2 }),
        customerTextFor: (operation, stream) => operation === "chat.completions" || stream,
      },
    ],
    evaluatorKey: EVALUATOR_KEY,
    customerKey: CUSTOMER_KEY,
  });
  // Customers' ordinary traffic; the gateway holds what it answered for organic checks. Each
  // request carries its own seed (the reference answers with the same parameters), so a run's
  // outputs, and what the checks find, are the same every time: with unseeded sampling about one
  // run in eight drew a pair whose gap was an outlier, and the t-test missed the cheat.
  const customer = new OpenAI({ baseURL: gateway.baseUrl, apiKey: CUSTOMER_KEY, maxRetries: 0 });
  // Untargeted requests go round the four nodes in turn: blocks of a multiple of four give every
  // node the same share of each kind.
  const prompt = (i: number) => PROMPTS[i % PROMPTS.length]!;
  const messages = (i: number) => [
    { role: "system" as const, content: "Continue the story." },
    { role: "user" as const, content: prompt(i) },
  ];
  const drain = async (stream: AsyncIterable<unknown>) => {
    for await (const _ of stream);
  };
  for (let i = 0; i < 56; i++)
    await customer.completions.create({
      model: "dev-text",
      prompt: prompt(i),
      max_tokens: 16,
      temperature: 0.8,
      seed: i,
    });
  for (let i = 0; i < 32; i++)
    await customer.chat.completions.create({
      model: "dev-text",
      messages: messages(i),
      max_tokens: 16,
      temperature: 0.8,
      seed: 100 + i,
    });
  for (let i = 0; i < 32; i++)
    await drain(
      await customer.chat.completions.create({
        model: "dev-text",
        messages: messages(i + 1),
        max_completion_tokens: 16,
        top_p: 0.9,
        seed: 200 + i,
        stream: true,
      }),
    );
  for (let i = 0; i < 16; i++)
    await drain(
      await customer.completions.create({
        model: "dev-text",
        prompt: `${prompt(i)} then`,
        max_tokens: 16,
        seed: 300 + i,
        stream: true,
      }),
    );
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
      return yield* Effect.forEach([honest, twoFaced, chatCheat], (a) =>
        Effect.map(
          runNode({
            node: devTextNode(a),
            tasks,
            settings,
            seed: 7,
            reference: { transport, model: "dev-q1", targetNode: reference },
          }),
          (entry) => {
            const run = store.published().find((p) => p.entry.address === a)!;
            const rows = store.results(run.runId).filter((r) => r.category === "organic");
            return { entry, rows };
          },
        ),
      );
    }).pipe(Effect.provide(layer)),
  );
  entries = Object.fromEntries(scored.map((e) => [e.entry.address, e.entry]));
  organicRows = Object.fromEntries(scored.map((e) => [e.entry.address, e.rows]));
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

  it("catch a node that cheats only on customers' chats and streams", () => {
    const cheat = entries[chatCheat]!;
    expect(cheat.identity.modelTest).not.toBe("inconsistent");
    expect(cheat.penalties).toContain("organic-mismatch");
    expect(cheat.qualifies).toEqual([]);
    // Its unary completions, the one kind organic checks once sampled, show nothing; the rest do.
    const { unary, rest } = split(organicRows[chatCheat]!);
    expect(unary.length).toBeGreaterThanOrEqual(12);
    expect(organicMismatch(unary)).toBe(false);
    expect(rest.length).toBeGreaterThanOrEqual(12);
    expect(organicMismatch(rest)).toBe(true);
  });

  it("leave an honest node alone, its chats and streams scored as well", () => {
    expect(entries[honest]!.penalties ?? []).not.toContain("organic-mismatch");
    // Up to 8 unary chats, 8 streamed chats and 4 streamed completions (an empty answer is not
    // sampled): enough for a finding on their own, and none.
    const { unary, rest } = split(organicRows[honest]!);
    expect(unary.length).toBeGreaterThanOrEqual(12);
    expect(rest.length).toBeGreaterThanOrEqual(12);
    expect(organicMismatch(rest)).toBe(false);
  });
});

/** Organic gaps of unary completions (the story prompts as sent) and of the chats and streams. */
function split(rows: readonly { stat: number | null; promptHash: string }[]) {
  const unary = new Set(PROMPTS.map(sha256Hex));
  const gaps = (keep: (hash: string) => boolean) =>
    rows
      .filter((r) => keep(r.promptHash))
      .map((r) => {
        if (r.stat === null || !Number.isFinite(r.stat)) throw new Error("an organic check without a gap");
        return r.stat;
      });
  return { unary: gaps((h) => unary.has(h)), rest: gaps((h) => !unary.has(h)) };
}
