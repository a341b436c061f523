import { chatPromptText, type OrganicSample } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { base, type Row } from "../runs/entry-row.js";
import type { EntryContext } from "../runs/execute-entry.js";
import { sha256Hex } from "../runs/rng.js";
import { scoreUnderReference } from "./identity-probes.js";

/** Organic checks of a node before a finding can be made. */
export const ORGANIC_MIN_SAMPLES = 12;
/** Mean gap (nats per token) below which, with t < −3, a node is flagged `organic-mismatch`. */
export const ORGANIC_MAX_GAP = 0.5;

/**
 * One organic check: the reference answers what the customer asked itself with the customer's
 * parameters — a completion's prompt, or a chat's messages through its own chat call — and scores
 * both the node's output and its own. A chat's replies are scored as continuations of one neutral
 * text, the conversation flattened by `chatPromptText` and `"\nassistant: "`: the same context for
 * both sides, so whatever a real chat template would add cancels in the pair. `stat` is the paired
 * gap (node − reference, mean log-likelihood per token): about 0 for a node serving the declared
 * model, clearly negative for one that served customers a weaker model. Only the number and
 * hashes stay.
 */
export function organicCheck(reference: NonNullable<EntryContext["reference"]>, sample: OrganicSample) {
  const target = { address: reference.targetNode, model: reference.model };
  const pin = { node: reference.targetNode };
  const context = sample.kind === "chat" ? `${chatPromptText(sample.messages)}\nassistant: ` : sample.prompt;
  return Effect.gen(function* () {
    const own =
      sample.kind === "chat"
        ? (yield* reference.transport.chat(
            { model: reference.model, messages: sample.messages, ...sample.params },
            pin,
          )).content
        : (yield* reference.transport.completions(
            { model: reference.model, prompt: sample.prompt, ...sample.params },
            pin,
          )).text;
    const nodeLp = yield* scoreUnderReference(reference.transport, target, context, sample.output);
    const refLp = yield* scoreUnderReference(reference.transport, target, context, own);
    return {
      ...base,
      kind: "identity",
      category: "organic",
      status: "scored",
      stat: nodeLp - refLp,
      promptHash: sha256Hex(context),
      responseHash: sha256Hex(sample.output),
    } satisfies Row;
  }).pipe(
    // A failed check (the reference could not answer) says nothing about the node: no row.
    Effect.catchAll(() => Effect.succeed(undefined)),
  );
}

/** Whether paired organic gaps show a node serving customers something else than the reference. */
export function organicMismatch(gaps: readonly number[]): boolean {
  const n = gaps.length;
  if (n < ORGANIC_MIN_SAMPLES) return false;
  const mean = gaps.reduce((a, b) => a + b, 0) / n;
  const variance = gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / (n - 1);
  const t = mean / Math.max(Math.sqrt(variance / n), 1e-9);
  return mean < -ORGANIC_MAX_GAP && t < -3;
}
