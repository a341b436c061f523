import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { ProbeFailed } from "../errors.js";
import type { CompletionOutcome, ProbeTransportShape } from "../probe/probe-transport.js";
import { buildItem } from "../tasks/build-item.js";
import { loadSuite } from "../tasks/load-task.js";
import { createRng } from "./rng.js";
import { runItem } from "./run-item.js";

/** A transport whose completions answer `answer(prompt)`; nothing else is asked of it here. */
const transportOf = (
  answer: (prompt: string) => Effect.Effect<CompletionOutcome, ProbeFailed>,
): ProbeTransportShape => ({
  completions: (body) => answer(String(body.prompt)),
  chat: () => Effect.die(new Error("no chat here")),
  images: () => Effect.die(new Error("no images here")),
  imageEdits: () => Effect.die(new Error("no images here")),
});

const outcome = (text: string, logprobs: CompletionOutcome["logprobs"]): CompletionOutcome => ({
  text,
  logprobs,
  completionTokens: 1,
  finishReason: "length",
  timing: { totalMs: 1, ttftMs: null },
});

describe("a multiple-choice item asked by echo with logprobs", () => {
  it("is unscored only when the node refuses it; answered without the prompt's logprobs, it counts as failed", async () => {
    const [task] = (await Effect.runPromise(loadSuite([]))).filter(
      (t) => t.definition.output_type === "multiple_choice",
    );
    if (task === undefined) throw new Error("the starter suite has no multiple-choice task");
    const run = (transport: ProbeTransportShape) => {
      const rng = createRng(5);
      const request = buildItem(task, 0, rng);
      return Effect.runPromise(runItem(transport, { address: "n", model: "m" }, task, 0, request, rng));
    };
    const refusing = transportOf(() =>
      Effect.fail(
        new ProbeFailed({ code: "UNSUPPORTED_PARAMETER", status: 400, reason: "no prompt logprobs" }),
      ),
    );
    expect(await run(refusing)).toMatchObject({ status: "unsupported", errorCode: "UNSUPPORTED_PARAMETER" });
    // A 200 that does not echo the prompt, and one that echoes it without numbers: the node's failure.
    const silent = transportOf(() => Effect.succeed(outcome(" B", null)));
    const blank = transportOf((prompt) =>
      Effect.succeed(
        outcome(prompt, {
          tokens: [prompt],
          tokenLogprobs: [null],
          textOffset: [0],
        }),
      ),
    );
    for (const transport of [silent, blank])
      expect(await run(transport)).toMatchObject({
        status: "error",
        errorCode: "INVALID_NODE_RESPONSE",
        score: null,
      });
  });
});
