import { Effect } from "effect";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { errorCodeOf } from "../errors.js";
import { fingerprintProbe, sampleCompletion, scoreUnderReference } from "../identity/identity-probes.js";
import { fingerprintSeed, randomPrompt } from "../identity/random-prompts.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import { buildItem } from "../tasks/build-item.js";
import type { PlanEntry } from "./plan.js";
import { createRng, deriveSeed, sha256Hex } from "./rng.js";
import { runItem } from "./run-item.js";

export interface EntryContext {
  readonly runId: string;
  readonly seed: number;
  readonly node: EvaluatedNode;
  readonly transport: ProbeTransportShape;
  /** The declared model's reference endpoint, when one is configured. */
  readonly reference:
    | {
        readonly transport: ProbeTransportShape;
        readonly model: string;
        readonly targetNode?: string | undefined;
      }
    | undefined;
  /** Set once a loglikelihood item finds no prompt logprobs: the rest are not sent. */
  readonly loglikelihoodUnsupported: () => boolean;
  readonly now: () => number;
}

type Row = Omit<ItemResultRow, "runId" | "itemKey" | "createdAt">;
const base = {
  category: null,
  score: null,
  stat: null,
  ttftMs: null,
  responseHash: null,
  errorCode: null,
  probes: 1,
} as const;

/** Runs one plan entry and returns what is stored about it (hashes, scores and numbers only). */
export function executeEntry(ctx: EntryContext, entry: PlanEntry): Effect.Effect<Row> {
  const rng = createRng(deriveSeed(ctx.seed, ctx.node.address, entry.key));
  const node = { address: ctx.node.address, model: ctx.node.model ?? ctx.node.serviceId };
  switch (entry.kind) {
    case "item": {
      const request = buildItem(entry.task, entry.docIndex, rng);
      const category = entry.task.definition.category;
      if (request.kind === "loglikelihood" && ctx.loglikelihoodUnsupported()) {
        return Effect.succeed({
          ...base,
          kind: "item",
          category,
          status: "unsupported",
          promptHash: sha256Hex(request.context),
          errorCode: "UNSUPPORTED_PARAMETER",
          probes: 0,
        });
      }
      return runItem(ctx.transport, node, entry.task, entry.docIndex, request, rng).pipe(
        Effect.map(
          (o): Row => ({
            ...base,
            kind: "item",
            category,
            status: o.status,
            score: o.score,
            promptHash: o.promptHash,
            responseHash: o.responseHash,
            errorCode: o.errorCode,
            probes: o.probes,
          }),
        ),
      );
    }
    case "fingerprint": {
      const day = createRng(deriveSeed("fingerprint", fingerprintSeed(ctx.now()), entry.index));
      const prompt = randomPrompt(day);
      return fingerprintProbe(ctx.transport, node, prompt, day.int(2 ** 31)).pipe(
        Effect.map(
          (text): Row => ({
            ...base,
            kind: "identity",
            category: "fingerprint",
            status: "scored",
            promptHash: sha256Hex(prompt),
            responseHash: sha256Hex(text),
          }),
        ),
        Effect.catchAll((e) =>
          Effect.succeed<Row>({
            ...base,
            kind: "identity",
            category: "fingerprint",
            status: "error",
            promptHash: sha256Hex(prompt),
            errorCode: errorCodeOf(e),
          }),
        ),
      );
    }
    case "identity":
      return identityEntry(ctx, node, rng);
    case "speed": {
      const prompt = randomPrompt(rng);
      return ctx.transport
        .completions(
          {
            model: node.model,
            prompt,
            max_tokens: 24 + rng.int(16),
            temperature: 0.8,
            seed: rng.int(2 ** 31),
          },
          { node: node.address },
          { stream: true },
        )
        .pipe(
          Effect.map((o): Row => {
            const ttft = o.timing.ttftMs;
            const generating = ttft === null ? o.timing.totalMs : o.timing.totalMs - ttft;
            const tps =
              o.completionTokens === null || o.completionTokens < 2
                ? null
                : (o.completionTokens - 1) / Math.max(generating / 1000, 1e-3);
            return {
              ...base,
              kind: "speed",
              status: "scored",
              stat: tps,
              ttftMs: ttft,
              promptHash: sha256Hex(prompt),
              responseHash: sha256Hex(o.text),
            };
          }),
          Effect.catchAll((e) =>
            Effect.succeed<Row>({
              ...base,
              kind: "speed",
              status: "error",
              promptHash: sha256Hex(prompt),
              errorCode: errorCodeOf(e),
            }),
          ),
        );
    }
  }
}

/**
 * One identity sample: a sampled completion from the node and one from the reference on the same
 * random prompt, both scored by the reference. Stored as two numbers: `stat` is the node's mean
 * per-token logprob, `score` the paired reference sample's (this row is not an item score).
 */
function identityEntry(
  ctx: EntryContext,
  node: { address: string; model: string },
  rng: ReturnType<typeof createRng>,
): Effect.Effect<Row> {
  const prompt = randomPrompt(rng);
  const promptHash = sha256Hex(prompt);
  const reference = ctx.reference;
  if (reference === undefined) {
    return Effect.succeed({ ...base, kind: "identity", category: "untested", status: "scored", promptHash });
  }
  const refTarget = { address: reference.targetNode, model: reference.model };
  return Effect.gen(function* () {
    const nodeText = yield* sampleCompletion(ctx.transport, node, prompt, rng.int(2 ** 31));
    const refText = yield* sampleCompletion(reference.transport, refTarget, prompt, rng.int(2 ** 31));
    const nodeStat = yield* scoreUnderReference(reference.transport, refTarget, prompt, nodeText);
    const refStat = yield* scoreUnderReference(reference.transport, refTarget, prompt, refText);
    // `stat` is the node's sample, `score` carries the paired reference sample (both mean logprobs, ≤ 0).
    return {
      ...base,
      kind: "identity",
      category: "model",
      status: "scored",
      stat: nodeStat,
      score: refStat,
      promptHash,
      responseHash: sha256Hex(nodeText),
    } satisfies Row;
  }).pipe(
    Effect.catchAll((e) =>
      Effect.succeed<Row>({
        ...base,
        kind: "identity",
        category: "model",
        status: "error",
        promptHash,
        errorCode: errorCodeOf(e),
      }),
    ),
  );
}
