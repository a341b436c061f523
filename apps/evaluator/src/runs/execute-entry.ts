import { Effect } from "effect";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import { errorCodeOf } from "../errors.js";
import { identityEntry } from "../identity/identity-entry.js";
import { fingerprintProbe } from "../identity/identity-probes.js";
import { fingerprintSeed, randomPrompt } from "../identity/random-prompts.js";
import { contentProbe } from "../images/content-probe.js";
import { imageProbe } from "../images/image-probe.js";
import type { ImageProbeLimits } from "../images/image-request.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import { buildItem } from "../tasks/build-item.js";
import { base, type Row } from "./entry-row.js";
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
  /** Image nodes: the sizes and steps probes stay within. */
  readonly imageLimits?: ImageProbeLimits | undefined;
  readonly now: () => number;
}

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
          varied: request.varied,
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
            varied: request.varied,
            // Items: 1 marks made-up (constant) prompt logprobs.
            stat: o.constantLogprobs === true ? 1 : null,
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
      return identityEntry(ctx.transport, ctx.reference, node, rng);
    case "image": {
      const limits = ctx.imageLimits;
      if (limits === undefined)
        return Effect.die(new Error("image probe planned for a node without image limits"));
      return imageProbe(
        { seed: ctx.seed, node, transport: ctx.transport, limits },
        entry.index,
        entry.repeat,
      );
    }
    case "image-content": {
      const limits = ctx.imageLimits;
      if (limits === undefined)
        return Effect.die(new Error("image probe planned for a node without image limits"));
      return contentProbe(
        { seed: ctx.seed, node, transport: ctx.transport, limits },
        entry.check,
        entry.index,
      );
    }
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
