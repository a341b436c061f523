import { promptCharsOf, type TrafficMix, type TrafficShape } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import { loadSuite } from "../tasks/load-task.js";
import { customerSeed, drawPromptLength, padPrompt } from "./probe-shape.js";
import { createRng } from "./rng.js";
import { runItem } from "./run-item.js";

const echoShape: TrafficShape = {
  operation: "completions",
  stream: false,
  echo: true,
  logprobs: true,
  temperature: 0,
  topP: null,
  maxTokens: 1,
  seed: false,
  system: false,
  turns: 0,
  stop: false,
};

// Customers: prompts of 33–64 characters and of 257–512, half each.
const mix: TrafficMix = {
  total: 1_000,
  shapes: [{ shape: echoShape, count: 1_000 }],
  promptChars: [
    { upTo: 64, linesUpTo: 1, contextUpTo: 0, count: 500 },
    { upTo: 512, linesUpTo: 1, contextUpTo: 0, count: 500 },
  ],
};

describe("probe shaping", () => {
  it("gives a probe the customer length at its own length's rank among the run's prompts", () => {
    const bases = [20, 30, 40, 50, 300, 310, 320, 330];
    const covert = { mix, echo: () => true, bases };
    const rng = createRng(7);
    for (const base of [20, 50])
      expect(drawPromptLength(covert, rng, base, echoShape)!.chars).toBeLessThanOrEqual(64);
    for (const base of [300, 330])
      expect(drawPromptLength(covert, rng, base, echoShape)!.chars).toBeGreaterThan(256);
    // Without the run's lengths the draw ignores the probe's own: short probes also get long targets.
    const random = Array.from(
      { length: 200 },
      () => drawPromptLength({ mix, echo: () => true }, rng, 20, echoShape)!.chars,
    );
    expect(random.some((c) => c > 256)).toBe(true);
  });

  it("puts examples before the prompt toward the target and leaves the prompt itself as it was", () => {
    const rng = createRng(3);
    const prompt = "What is the capital of France?\n(A) Paris (B) Rome\nAnswer with the letter.";
    const shots = ["Q: 2 + 2? A: 4", "Q: Largest ocean? A: Pacific, the largest ocean on Earth by far."];
    const padded = padPrompt({ prompt }, { chars: 220, lines: 3, context: 0 }, () => rng.pick(shots), false);
    const text = String(padded.prompt);
    expect(text.endsWith(prompt)).toBe(true);
    expect(Math.abs(Math.log(text.length / 220))).toBeLessThan(Math.log(220 / prompt.length));
    // Never past the input limit, however long the target.
    const long = padPrompt({ prompt }, { chars: 5_000, lines: 3, context: 0 }, () => rng.pick(shots), false);
    expect(promptCharsOf("completions", long).chars).toBeLessThanOrEqual(780);
    expect(String(long.prompt).endsWith(prompt)).toBe(true);
  });

  it("scores multiple choice through echo after the padded context: the examples never count in a choice", async () => {
    const [task] = (await Effect.runPromise(loadSuite([]))).filter(
      (t) => t.definition.output_type === "multiple_choice",
    );
    if (task === undefined) throw new Error("the starter suite has no multiple-choice task");
    const rng = createRng(11);
    const { buildItem } = await import("../tasks/build-item.js");
    const request = buildItem(task, 0, rng);
    if (request.kind !== "loglikelihood") throw new Error("expected a multiple-choice item");
    const gold = request.continuations[request.gold]!;
    const prompts: string[] = [];
    // Every prompt token scores -20 except the gold continuation's (-1): only the continuation,
    // after the whole (padded) context, may be read.
    const transport: ProbeTransportShape = {
      completions: (body) =>
        Effect.sync(() => {
          const prompt = String(body.prompt);
          prompts.push(prompt);
          const context = prompt.slice(0, prompt.length - (prompt.endsWith(gold) ? gold.length : 0));
          const tokens = [...prompt.matchAll(/\s*\S+/g)];
          return {
            text: `${prompt} x`,
            logprobs: {
              tokens: tokens.map((t) => t[0]),
              tokenLogprobs: tokens.map((t) =>
                prompt.endsWith(gold) && (t.index ?? 0) >= context.length ? -1 : -20,
              ),
              textOffset: tokens.map((t) => t.index ?? 0),
            },
            completionTokens: 1,
            finishReason: "length",
            timing: { totalMs: 1, ttftMs: null },
          };
        }),
      chat: () => Effect.die(new Error("no chat here")),
      images: () => Effect.die(new Error("no images here")),
      imageEdits: () => Effect.die(new Error("no images here")),
    };
    const covert = { mix, echo: () => true, bases: [1_000] };
    const outcome = await Effect.runPromise(
      runItem(transport, { address: "n", model: "m" }, task, 0, request, rng, covert),
    );
    expect(outcome.status).toBe("scored");
    expect(outcome.score).toBe(1);
    expect(prompts).toHaveLength(request.continuations.length);
    // Padded (the run's longest prompt gets the long customer lengths), the same context for every choice.
    const contexts = prompts.map((p, i) => p.slice(0, p.length - request.continuations[i]!.length));
    expect(new Set(contexts).size).toBe(1);
    expect(contexts[0]!.length).toBeGreaterThan(request.context.length);
    expect(contexts[0]!.endsWith(request.context)).toBe(true);
  });
});

describe("a probe's seed", () => {
  it("is mostly one people write by hand or a small number, as customers' seeds are", () => {
    const rng = createRng(11);
    const seeds = Array.from({ length: 2_000 }, () => customerSeed(rng));
    const share = (f: (s: number) => boolean) => seeds.filter(f).length / seeds.length;
    // A uniform 31-bit draw gives 42 about never and a number below 10,000 one time in 200,000.
    expect(share((s) => s === 42)).toBeGreaterThan(0.01);
    expect(share((s) => s < 10_000)).toBeGreaterThan(0.7);
    // Some seeds are large random ones, as some clients draw them.
    expect(share((s) => s >= 10_000)).toBeGreaterThan(0.1);
    expect(seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)).toBe(true);
  });
});
