import type { ErrorCode } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { errorCodeOf, type ProbeError, PromptLogprobsUnsupported } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import { applyFilters } from "../scoring/filters.js";
import { scoreGeneration } from "../scoring/generate-metrics.js";
import {
  constantLogprobs,
  continuationTokenLogprobs,
  multipleChoiceScores,
} from "../scoring/loglikelihood.js";
import type { ItemRequest } from "../tasks/build-item.js";
import type { Task } from "../tasks/task-definition.js";
import type { Rng } from "./rng.js";
import { sha256Hex } from "./rng.js";
import { scoredSampling } from "./sampling.js";

/** What is kept of one item: hashes and a score, never the texts. */
export interface ItemOutcome {
  readonly status: "scored" | "unsupported" | "error";
  /** The task's primary metric (the first of `metric_list`), 0..1; null when not scored. */
  readonly score: number | null;
  readonly promptHash: string;
  readonly responseHash: string | null;
  readonly errorCode: ErrorCode | null;
  readonly probes: number;
  /** Multiple choice: every token of every choice had the same log-probability. */
  readonly constantLogprobs?: boolean;
}

const failed = (
  promptHash: string,
  error: ProbeError | PromptLogprobsUnsupported,
  probes: number,
): ItemOutcome => ({
  status: error._tag === "PromptLogprobsUnsupported" ? "unsupported" : "error",
  score: null,
  promptHash,
  responseHash: null,
  errorCode: errorCodeOf(error),
  probes,
});

function loglikelihoodItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  request: Extract<ItemRequest, { kind: "loglikelihood" }>,
  task: Task,
  rng: Rng,
): Effect.Effect<ItemOutcome> {
  const promptHash = sha256Hex(request.context);
  return Effect.gen(function* () {
    const perToken: number[][] = [];
    for (const continuation of request.continuations) {
      const outcome = yield* transport.completions(
        {
          model: node.model,
          prompt: request.context + continuation,
          max_tokens: 1,
          echo: true,
          logprobs: 1,
          temperature: 0,
          seed: rng.int(2 ** 31),
        },
        { node: node.address },
      );
      const lp = continuationTokenLogprobs(outcome, request.context, continuation);
      if (lp instanceof PromptLogprobsUnsupported) return yield* lp;
      perToken.push(lp);
    }
    const logprobs = perToken.map((t) => t.reduce((a, b) => a + b, 0));
    const delimiter = task.definition.target_delimiter;
    const choices = request.continuations.map((c) =>
      c.startsWith(delimiter) ? c.slice(delimiter.length) : c,
    );
    const { acc, accNorm } = multipleChoiceScores(logprobs, choices, request.gold, rng.next());
    const primary = task.definition.metric_list[0]?.metric === "acc_norm" ? accNorm : acc;
    return {
      status: "scored",
      score: primary,
      promptHash,
      responseHash: sha256Hex(logprobs.map((l) => l.toFixed(3)).join(",")),
      errorCode: null,
      probes: request.continuations.length,
      // All choices alike: scored as a tie (chance); the node is flagged when most items are so.
      constantLogprobs: constantLogprobs(perToken),
    } satisfies ItemOutcome;
  }).pipe(
    Effect.catchAll((error) =>
      // A node that refuses echo + logprobs (llama.cpp, Ollama) answers UNSUPPORTED_PARAMETER: the
      // item cannot be scored by loglikelihood on it, which is not an error of the node.
      Effect.succeed(
        failed(
          promptHash,
          errorCodeOf(error) === "UNSUPPORTED_PARAMETER"
            ? new PromptLogprobsUnsupported({ reason: "the node refused echo with logprobs" })
            : error,
          1,
        ),
      ),
    ),
  );
}

function generateItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  request: Extract<ItemRequest, { kind: "generate" }>,
  task: Task,
  doc: Record<string, unknown>,
  rng: Rng,
): Effect.Effect<ItemOutcome> {
  const promptHash = sha256Hex(request.prompt);
  const sampling = scoredSampling(rng, request.maxTokens);
  const stop = [...request.until];
  const call = request.chat
    ? transport
        .chat(
          { model: node.model, messages: [{ role: "user", content: request.prompt }], stop, ...sampling },
          { node: node.address },
        )
        .pipe(Effect.map((o) => o.content))
    : transport
        .completions({ model: node.model, prompt: request.prompt, stop, ...sampling }, { node: node.address })
        .pipe(Effect.map((o) => o.text));
  return call.pipe(
    Effect.flatMap((raw) => {
      const filters = task.definition.filter_list[0]?.filter ?? [];
      const answer = applyFilters(raw, filters);
      const metric = task.definition.metric_list[0]!;
      return scoreGeneration(metric, answer, request.target, {
        prompt: request.prompt,
        rawCompletion: raw,
        doc,
      }).pipe(
        Effect.map(
          (score): ItemOutcome => ({
            status: "scored",
            score,
            promptHash,
            responseHash: sha256Hex(raw),
            errorCode: null,
            probes: 1,
          }),
        ),
      );
    }),
    Effect.catchAll((error) => Effect.succeed(failed(promptHash, error, 1))),
  );
}

/** Runs one built item against one node and scores it by the task's primary metric. */
export function runItem(
  transport: ProbeTransportShape,
  node: { address: string; model: string },
  task: Task,
  docIndex: number,
  request: ItemRequest,
  rng: Rng,
): Effect.Effect<ItemOutcome> {
  return request.kind === "loglikelihood"
    ? loglikelihoodItem(transport, node, request, task, rng)
    : generateItem(transport, node, request, task, task.docs[docIndex]!.doc, rng);
}
