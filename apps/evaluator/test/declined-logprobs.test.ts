import { generateKeyPair } from "@pocket-ai/protocol";
import { Effect, Layer } from "effect";
import { beforeAll, describe, expect, it } from "vitest";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { ProbeFailed } from "../src/errors.js";
import { ProbeTransport, type ProbeTransportShape } from "../src/probe/probe-transport.js";
import { createRng } from "../src/runs/rng.js";
import { runNode } from "../src/runs/run-node.js";
import { loadSuite } from "../src/tasks/load-task.js";
import type { Task } from "../src/tasks/task-definition.js";
import { type CustomerRelay, customerApp } from "./customer-traffic.js";
import { mixOf } from "./probe-relays.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

/**
 * A node that declares no prompt log-probabilities refuses `echo` with logprobs, as llama.cpp and
 * Ollama nodes do. Under customer traffic the evaluator can still ask its multiple-choice items as
 * letter questions, as it asks every other node when the drawn shape is not an echo one; were
 * every later item left out instead, such a node would choose not to be measured on multiple
 * choice at all, by one refusal.
 */

const NODE = generateKeyPair().address;
let tasks: Task[];
let customers: CustomerRelay[];
beforeAll(async () => {
  tasks = await Effect.runPromise(loadSuite([]));
  const rng = createRng(4242);
  const apps = Array.from({ length: 400 }, (_, i) => customerApp(rng, `pokt1customer${i}`, 1));
  customers = Array.from({ length: 8_000 }, (_, i) => apps[i % apps.length]!.next(rng));
  // A gateway whose customers include harness users: a fifth of its relays are echo completions.
  for (let i = 0; i < 2_000; i++)
    customers.push({
      app: `pokt1harness${i % 20}`,
      operation: "completions",
      body: { prompt: `Item ${i} reads`, echo: true, logprobs: 1, max_tokens: 1, temperature: 0 },
    });
});

/** The node: refuses echo with logprobs; answers every letter question with "B" and generations with a few words. */
function decliningNode(seen: { echo: number; letters: number }): ProbeTransportShape {
  const timing = { totalMs: 5, ttftMs: 1 };
  return {
    completions: (body) => {
      if (body.echo === true && body.logprobs !== undefined) {
        seen.echo += 1;
        return Effect.fail(
          new ProbeFailed({ code: "UNSUPPORTED_PARAMETER", status: 400, reason: "no prompt logprobs" }),
        );
      }
      if (/letter/i.test(String(body.prompt))) seen.letters += 1;
      return Effect.succeed({
        text: " B",
        logprobs: null,
        completionTokens: 1,
        finishReason: "stop",
        timing,
      });
    },
    chat: (body) =>
      Effect.sync(() => {
        const messages = body.messages as { content: string }[];
        if (/letter/i.test(messages[messages.length - 1]?.content ?? "")) seen.letters += 1;
        return { content: "B", completionTokens: 1, timing };
      }),
    images: () => Effect.die(new Error("no images here")),
    imageEdits: () => Effect.die(new Error("no images here")),
    trafficMix: () => Effect.succeed(mixOf(customers)),
  };
}

describe("a node that declines prompt log-probabilities, under customer traffic", () => {
  it("is still asked its multiple-choice items, as letter questions, after it declines echo", async () => {
    const seen = { echo: 0, letters: 0 };
    const node: EvaluatedNode = {
      address: NODE,
      serviceId: "dev-text",
      model: "dev-text",
      declaredModel: null,
      kind: "text",
    };
    const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, decliningNode(seen)));
    const rows = await Effect.runPromise(
      Effect.gen(function* () {
        yield* runNode({ node, tasks, settings: { ...SMALL_TEXT_RUN, itemsPerTask: 12 }, seed: 11 });
        const store = yield* EvaluatorStore;
        const run = store.published().find((p) => p.entry.address === NODE)!;
        return store.results(run.runId);
      }).pipe(Effect.provide(layer)),
    );
    const multipleChoice = new Set(
      tasks.filter((t) => t.definition.output_type === "multiple_choice").map((t) => t.definition.task),
    );
    const mc = rows.filter((r) => r.kind === "item" && multipleChoice.has(r.itemKey.split("/")[0] ?? ""));
    const unsupported = mc.filter((r) => r.status === "unsupported").length;
    console.info(
      `multiple-choice items: ${mc.length}; left out as unsupported: ${unsupported}; echo refusals: ${seen.echo}; letter questions asked: ${seen.letters}`,
    );
    expect(mc.length).toBeGreaterThan(40);
    // The node declined echo, so at least one item drew an echo shape...
    expect(seen.echo).toBeGreaterThan(0);
    // ...and only the items that drew one before it declined are left out.
    expect(unsupported).toBe(seen.echo);
    expect(mc.filter((r) => r.status === "scored").length).toBe(mc.length - unsupported);
  }, 120_000);
});

/**
 * Answers `echo` with made-up but varied prompt log-probabilities (one token per character) on
 * the first `answered` multiple-choice requests, then refuses echo: a node choosing which items
 * count by declining a capability it has just shown.
 */
function selectiveNode(answered: number): ProbeTransportShape {
  const timing = { totalMs: 5, ttftMs: 1 };
  let echoes = 0;
  return {
    completions: (body) => {
      if (body.echo !== true) {
        return Effect.succeed({
          text: " yes",
          logprobs: null,
          completionTokens: 1,
          finishReason: "stop",
          timing,
        });
      }
      echoes += 1;
      if (echoes > answered)
        return Effect.fail(
          new ProbeFailed({ code: "UNSUPPORTED_PARAMETER", status: 400, reason: "no prompt logprobs" }),
        );
      const prompt = String(body.prompt);
      const tokens = [...prompt];
      return Effect.succeed({
        text: prompt,
        logprobs: {
          tokens,
          tokenLogprobs: tokens.map((_, i) => -1 - ((i * 7 + echoes) % 5) / 10),
          textOffset: tokens.map((_, i) => i),
        },
        completionTokens: 1,
        finishReason: "length",
        timing,
      });
    },
    chat: () => Effect.succeed({ content: "yes", completionTokens: 1, timing }),
    images: () => Effect.die(new Error("no images here")),
    imageEdits: () => Effect.die(new Error("no images here")),
  };
}

describe("a node that answers echo with log-probabilities, then declines it", () => {
  it("fails the item it declined and is still asked the rest, so a refusal cannot end the count", async () => {
    const node: EvaluatedNode = {
      address: generateKeyPair().address,
      serviceId: "dev-text",
      model: "dev-text",
      declaredModel: null,
      kind: "text",
    };
    const layer = Layer.merge(EvaluatorStore.layerTest, Layer.succeed(ProbeTransport, selectiveNode(12)));
    const { rows, entry } = await Effect.runPromise(
      Effect.gen(function* () {
        const entry = yield* runNode({ node, tasks, settings: SMALL_TEXT_RUN, seed: 7 });
        const store = yield* EvaluatorStore;
        const run = store.published().find((p) => p.entry.address === node.address)!;
        return { rows: store.results(run.runId), entry };
      }).pipe(Effect.provide(layer)),
    );
    const multipleChoice = new Set(
      tasks.filter((t) => t.definition.output_type === "multiple_choice").map((t) => t.definition.task),
    );
    const mc = rows.filter((r) => r.kind === "item" && multipleChoice.has(r.itemKey.split("/")[0] ?? ""));
    expect(mc.filter((r) => r.status === "scored").length).toBeGreaterThan(0);
    expect(mc.filter((r) => r.status === "unsupported")).toEqual([]);
    expect(mc.filter((r) => r.status === "error").length).toBe(
      mc.length - mc.filter((r) => r.status === "scored").length,
    );
    expect(entry.loglikelihood).toBe("supported");
  }, 120_000);
});
