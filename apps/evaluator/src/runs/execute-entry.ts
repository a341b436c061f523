import { trafficShapeKey } from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import type { ProbeError } from "../errors.js";
import { errorCodeOf } from "../errors.js";
import { identityEntry } from "../identity/identity-entry.js";
import { fingerprintProbe } from "../identity/identity-probes.js";
import { fingerprintSeed } from "../identity/random-prompts.js";
import { contentProbe } from "../images/content-probe.js";
import { imageProbe } from "../images/image-probe.js";
import { referenceProbe } from "../images/image-reference.js";
import type { ImageProbeLimits } from "../images/image-request.js";
import type { CompletionOutcome, ProbeTransportShape } from "../probe/probe-transport.js";
import { type ProbeTexts, PUBLIC_PROBE_TEXTS } from "../probe-text/probe-texts.js";
import { buildItem } from "../tasks/build-item.js";
import { base, type Row } from "./entry-row.js";
import type { PlanEntry } from "./plan.js";
import {
  type CovertContext,
  drawPromptLength,
  drawShape,
  padPrompt,
  padText,
  shapedBody,
} from "./probe-shape.js";
import { createRng, deriveSeed, type Rng, sha256Hex } from "./rng.js";
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
  /** Customer traffic to imitate (`probe-shape.ts`); undefined: the measuring shapes. */
  readonly covert?: CovertContext | undefined;
  /** The pools of probe texts (system messages, letter instructions, short prompts); public when unset. */
  readonly texts?: ProbeTexts | undefined;
}

/** Runs one plan entry and returns what is stored about it (hashes, scores and numbers only). */
export function executeEntry(ctx: EntryContext, entry: PlanEntry): Effect.Effect<Row> {
  const rng = createRng(deriveSeed(ctx.seed, ctx.node.address, entry.key));
  const node = { address: ctx.node.address, model: ctx.node.model ?? ctx.node.serviceId };
  const texts = ctx.texts ?? PUBLIC_PROBE_TEXTS;
  const covert = ctx.covert === undefined ? undefined : { ...ctx.covert, texts };
  switch (entry.kind) {
    case "item": {
      const request = buildItem(entry.task, entry.docIndex, rng);
      const category = entry.task.definition.category;
      // Without customer traffic an item is asked only through echo, which the node declined: it is
      // left out. Under customer traffic it is asked as a letter question (the node's declined echo
      // keeps echo shapes away from it), so one refusal does not exempt a node from multiple choice.
      if (request.kind === "loglikelihood" && ctx.covert === undefined && ctx.loglikelihoodUnsupported()) {
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
      return runItem(ctx.transport, node, entry.task, entry.docIndex, request, rng, covert).pipe(
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
      // Covert runs: a customer shape drawn from the day's seed, so nodes probed in the same shape
      // can be compared (the shape is part of the compared key); only seeded, sampled shapes
      // give comparable answers, the others are ordinary probes. The prompt's length is drawn
      // from the day's seed too (not from the run's lengths), so every node gets the same prompt.
      const drawn =
        covert === undefined ? undefined : drawShape(covert.mix, day, (s) => !s.echo && s.turns === 0);
      const padded = padText(
        texts.openingPrompt(day),
        covert === undefined ? undefined : { ...covert, bases: undefined },
        day,
        () => texts.openingPrompt(day),
        drawn,
      );
      const prompt = padded.prompt;
      const key = drawn === undefined ? prompt : `${prompt}\u0000${trafficShapeKey(drawn)}`;
      const seed = day.int(2 ** 31);
      const shape =
        drawn === undefined
          ? undefined
          : { shape: drawn, rng: day, systemChars: padded.target?.context, texts };
      return fingerprintProbe(ctx.transport, node, prompt, seed, shape).pipe(
        Effect.map(
          (text): Row => ({
            ...base,
            kind: "identity",
            category: "fingerprint",
            status: "scored",
            promptHash: sha256Hex(key),
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
      return identityEntry(ctx.transport, ctx.reference, node, rng, texts, covert);
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
    case "image-reference": {
      const limits = ctx.imageLimits;
      if (limits === undefined || ctx.reference === undefined)
        return Effect.die(new Error("reference comparison planned without image limits or a reference"));
      return referenceProbe(
        { seed: ctx.seed, node, transport: ctx.transport, limits },
        ctx.reference,
        entry.index,
      );
    }
    case "speed": {
      const prompt = texts.openingPrompt(rng);
      return speedCall(ctx, covert, texts, node, prompt, rng).pipe(
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
 * One streamed generation to time. Covert runs use a customer shape as drawn: a non-streamed one
 * measures only the total time (no time to first token).
 */
function speedCall(
  ctx: EntryContext,
  covert: CovertContext | undefined,
  texts: ProbeTexts,
  node: { address: string; model: string },
  prompt: string,
  rng: Rng,
): Effect.Effect<Pick<CompletionOutcome, "text" | "completionTokens" | "timing">, ProbeError> {
  const target = { node: node.address };
  if (covert === undefined)
    return ctx.transport.completions(
      { model: node.model, prompt, max_tokens: 24 + rng.int(16), temperature: 0.8, seed: rng.int(2 ** 31) },
      target,
      { stream: true },
    );
  const shape = drawShape(covert.mix, rng, (s) => !s.echo && s.turns === 0);
  const body = padPrompt(
    shapedBody(shape, node.model, prompt, rng, { texts }),
    drawPromptLength(covert, rng, prompt.length, shape),
    () => texts.openingPrompt(rng),
    true,
    rng,
    texts,
  );
  const options = { stream: shape.stream };
  return shape.operation === "completions"
    ? ctx.transport.completions(body, target, options)
    : ctx.transport
        .chat(body, target, options)
        .pipe(
          Effect.map((o) => ({ text: o.content, completionTokens: o.completionTokens, timing: o.timing })),
        );
}
