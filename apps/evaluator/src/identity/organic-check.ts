import { chatPromptText, type ErrorCode, GATEWAY_OWN_CODES, type OrganicSample } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { errorCodeOf } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import { base, type Row } from "../runs/entry-row.js";
import type { EntryContext } from "../runs/execute-entry.js";
import { sha256Hex } from "../runs/rng.js";
import { scoreUnderReference } from "./identity-probes.js";

/** A trusted endpoint that answers and scores (echo + logprobs): a reference or the scorer. */
export type ScoringEndpoint = NonNullable<EntryContext["reference"]>;

/**
 * What one organic check gave: a row to store, or nothing because the trusted side (the reference
 * or the scorer) could not answer or score — which says nothing about the node; `code` says why.
 */
export type OrganicOutcome =
  | { readonly row: Row }
  | { readonly row?: undefined; readonly unscored: ErrorCode };

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
export function organicCheck(
  reference: ScoringEndpoint,
  sample: OrganicSample,
): Effect.Effect<OrganicOutcome> {
  const target = { address: reference.targetNode, model: reference.model };
  const pin = { node: reference.targetNode };
  const context = scoringContext(sample);
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
    return { row: gapRow(context, sample.output, nodeLp - refLp) };
  }).pipe(
    // A failed check (the reference could not answer) says nothing about the node: no row.
    Effect.catchAll((e) => Effect.succeed({ unscored: errorCodeOf(e) })),
  );
}

/**
 * The self-consistency check, for a node with no reference of its own (it declares no model, or
 * none that `references:` serves): the node is asked what its customer asked once more — through
 * the gateway, pinned to it as every probe is, in the customer's operation, streaming and
 * parameters — and the customer's output and this probe's output are both scored under the
 * `scorer` (echo + logprobs), in the same context as `organicCheck`. `stat` is the paired gap,
 * customer output − probe output, in mean log-likelihood per token under the scorer: about 0 for a
 * node that serves customers and probes alike (0 exactly for a seeded request to a deterministic
 * engine), clearly negative for one that served its customer a weaker model than it serves probes.
 * The scorer is only the judge of the pair, so any capable model will do: what the node answers
 * is compared with itself, not with the scorer's own answers.
 *
 * A probe the node fails is stored as an error row (its code, no gap); one the gateway fails with
 * its own code (`GATEWAY_OWN_CODES`), or a scorer that cannot score, leaves no row.
 */
export function selfConsistencyCheck(
  transport: ProbeTransportShape,
  node: { readonly address: string; readonly model: string },
  scorer: ScoringEndpoint,
  sample: OrganicSample,
): Effect.Effect<OrganicOutcome> {
  const target = { address: scorer.targetNode, model: scorer.model };
  const context = scoringContext(sample);
  const pin = { node: node.address };
  const options = { stream: sample.stream === true };
  const replay =
    sample.kind === "chat"
      ? transport
          .chat({ model: node.model, messages: sample.messages, ...sample.params }, pin, options)
          .pipe(Effect.map((o) => o.content))
      : transport
          .completions({ model: node.model, prompt: sample.prompt, ...sample.params }, pin, options)
          .pipe(Effect.map((o) => o.text));
  return replay.pipe(
    Effect.matchEffect({
      onFailure: (e): Effect.Effect<OrganicOutcome> => {
        const code = errorCodeOf(e);
        return Effect.succeed(
          GATEWAY_OWN_CODES.has(code)
            ? { unscored: code }
            : {
                row: {
                  ...base,
                  kind: "identity",
                  category: "organic",
                  status: "error",
                  promptHash: sha256Hex(context),
                  responseHash: sha256Hex(sample.output),
                  errorCode: code,
                },
              },
        );
      },
      onSuccess: (again) =>
        Effect.gen(function* () {
          const customerLp = yield* scoreUnderReference(scorer.transport, target, context, sample.output);
          const probeLp = yield* scoreUnderReference(scorer.transport, target, context, again);
          return { row: gapRow(context, sample.output, customerLp - probeLp) } satisfies OrganicOutcome;
        }).pipe(Effect.catchAll((e) => Effect.succeed({ unscored: errorCodeOf(e) }))),
    }),
  );
}

/**
 * The text both outputs of a sample are scored after: a completion's prompt, or a chat flattened by
 * `chatPromptText` plus `"\nassistant: "` — not the model's chat template, but the same context for
 * both sides of the pair, so what a template would add cancels.
 */
function scoringContext(sample: OrganicSample): string {
  return sample.kind === "chat" ? `${chatPromptText(sample.messages)}\nassistant: ` : sample.prompt;
}

/** The stored row of a scored check: the gap and hashes, never the texts. */
function gapRow(context: string, output: string, gap: number): Row {
  return {
    ...base,
    kind: "identity",
    category: "organic",
    status: "scored",
    stat: gap,
    promptHash: sha256Hex(context),
    responseHash: sha256Hex(output),
  };
}

/**
 * Whether a node fails the repeats of its customers' requests (self-consistency checks) far more
 * than it fails probes: a node that recognises a repeat and refuses it, to keep its customers'
 * answers from being compared with what it serves probes. At least `ORGANIC_MIN_SAMPLES` repeats,
 * more than half of them failed by the node itself (the gateway's own refusals leave no row), and
 * a failed share well above the node's error rate on probes (a busy node fails both alike).
 *
 * @example
 * ```ts
 * organicDodged(10, 4, 0.02); // true: 10 of 14 repeats failed, against 2% of probes
 * organicDodged(10, 4, 0.6);  // false: it fails probes as often
 * ```
 */
export function organicDodged(failed: number, answered: number, probeErrorRate: number): boolean {
  const n = failed + answered;
  if (n < ORGANIC_MIN_SAMPLES) return false;
  const share = failed / n;
  return share > 0.5 && share > probeErrorRate + 0.25;
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
