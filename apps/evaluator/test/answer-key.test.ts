import { createHash } from "node:crypto";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { keyPairFromPrivateKey, type NodeScore } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { EvaluatorStore, type ItemResultRow } from "../src/db/evaluator-store.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { runNode } from "../src/runs/run-node.js";
import { answerKeyFinding, guessChance } from "../src/scoring/answer-key.js";
import { itemCredit } from "../src/scoring/node-score.js";
import { wilsonInterval } from "../src/scoring/wilson.js";
import { loadSuite } from "../src/tasks/load-task.js";
import type { Task } from "../src/tasks/task-definition.js";
import { type AnswerKeyNode, answerKeyNode } from "./answer-key-node.js";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const KEY = "sk-evaluator-answer-key";
const settings = { ...SMALL_TEXT_RUN, nodeConcurrency: 2, itemsPerTask: 0, speedProbes: 0 };

let gateway: DevGateway;
let exact: AnswerKeyNode;
let suffix: AnswerKeyNode;
let tasks: Task[];
const results = new Map<string, { entry: NodeScore; rows: ItemResultRow[] }>();
// Fixed node keys and one fixed run seed: the items, their perturbations and the cheating node's
// guesses (keyed on the prompt) are the same on every run, so no lucky draw decides the outcome.
const fixedAddress = (name: string) =>
  keyPairFromPrivateKey(createHash("sha256").update(`answer-key-node-${name}`).digest()).address;
const RUN_SEED = 20_261_202;
const honest = fixedAddress("honest");
const exactKeyed = fixedAddress("exact");
const suffixKeyed = fixedAddress("suffix");

beforeAll(async () => {
  tasks = await Effect.runPromise(loadSuite([]));
  exact = answerKeyNode(tasks, "exact");
  suffix = answerKeyNode(tasks, "suffix");
  gateway = await startDevGateway({
    nodes: [
      { address: honest, text: createDevTextEngine({ quality: 1 }) },
      { address: exactKeyed, respond: exact.respond },
      { address: suffixKeyed, respond: suffix.respond },
    ],
    evaluatorKey: KEY,
  });
  const transport = makeOpenAiTransport({
    baseUrl: gateway.baseUrl,
    apiKey: KEY,
    timeoutMs: 20_000,
    headers: {},
  });
  const scorer = { transport, model: "dev-text", targetNode: honest };
  const node = (address: string): EvaluatedNode => ({
    address,
    serviceId: "dev-text",
    model: "dev-text",
    declaredModel: null,
    kind: "text",
  });
  await Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* EvaluatorStore;
      for (const address of [honest, exactKeyed, suffixKeyed]) {
        // A scorer, as the app passes for nodes without a reference: without one no node could be
        // granted a tier (no customers here, so no organic check runs).
        const entry = yield* runNode({ node: node(address), tasks, settings, seed: RUN_SEED, scorer });
        const run = store.published().find((p) => p.entry.address === address)!;
        results.set(address, { entry, rows: store.results(run.runId) });
      }
    }).pipe(Effect.provide(Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, transport)))),
  );
}, 120_000);

afterAll(async () => {
  await gateway.close();
});

const mcTasks = () =>
  new Map(
    tasks
      .filter((t) => t.definition.output_type === "multiple_choice")
      .map((t) => [t.definition.task, guessChance(t)]),
  );
const multipleChoice = (rows: readonly ItemResultRow[]) => {
  const mc = mcTasks();
  const scored = rows.filter(
    (r) => r.kind === "item" && r.status === "scored" && mc.has(r.itemKey.split("/")[0]!),
  );
  return wilsonInterval(
    scored.reduce((a, r) => a + (r.score ?? 0), 0),
    scored.length,
  );
};

const fmt = (e: { mean: number; lower: number; upper: number; n: number } | undefined) =>
  e === undefined ? "-" : `${e.mean.toFixed(3)} [${e.lower.toFixed(3)}, ${e.upper.toFixed(3)}] n=${e.n}`;

describe("a node answering from the repository's answer key", () => {
  it("by the prompt's text scores no better than chance, and far below an honest node", () => {
    const key = results.get(exactKeyed)!;
    const good = results.get(honest)!;
    const keyMc = multipleChoice(key.rows);
    console.log(
      `exact answer-key node: general ${fmt(key.entry.categories.general)}, multiple choice ${fmt(keyMc)}, key hits ${exact.hits()} of ${exact.hits() + exact.misses()} requests; honest node: general ${fmt(good.entry.categories.general)}, multiple choice ${fmt(multipleChoice(good.rows))}`,
    );
    // Four choices per item: chance is 0.25, and the key must not lift the node above it.
    expect(keyMc.lower).toBeLessThanOrEqual(0.25);
    expect(exact.hits()).toBeLessThan((exact.hits() + exact.misses()) / 20);
    expect(key.entry.qualifies).toEqual([]);
    expect(good.entry.categories.general!.lower).toBeGreaterThan(key.entry.categories.general!.upper);
  });

  it("by the item's text at the prompt's end is held to chance where items vary in content", () => {
    const key = results.get(suffixKeyed)!;
    console.log(
      `suffix answer-key node: general ${fmt(key.entry.categories.general)}, multiple choice ${fmt(multipleChoice(key.rows))}, key hits ${suffix.hits()} of ${suffix.hits() + suffix.misses()} requests; ${Object.entries(
        key.entry.categories,
      )
        .map(([c, e]) => `${c} ${fmt(e)}`)
        .join(
          ", ",
        )}; flagged ${key.entry.identity.answerKey}, penalties ${key.entry.penalties}; honest flagged ${results.get(honest)!.entry.identity.answerKey}`,
    );
    const run = { rows: key.rows, weight: 1 };
    const honestRun = { rows: results.get(honest)!.rows, weight: 1 };
    console.log(
      JSON.stringify(answerKeyFinding([run], itemCredit, mcTasks())),
      JSON.stringify(answerKeyFinding([honestRun], itemCredit, mcTasks())),
    );
    // On the published items it still looks good; on the varied ones it falls to chance — so it is
    // flagged, loses every tier, and an honest node on the same suite is not flagged.
    expect(key.entry.identity.answerKey).toBe(true);
    expect(key.entry.penalties).toContain("answer-key");
    expect(key.entry.qualifies).toEqual([]);
    expect(results.get(honest)!.entry.identity.answerKey).toBe(false);
    expect(results.get(honest)!.entry.qualifies).toContain("quality-gpt-3.5");
  });
});
