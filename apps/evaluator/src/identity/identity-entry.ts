import { Effect } from "effect";
import { errorCodeOf } from "../errors.js";
import type { ProbeTransportShape } from "../probe/probe-transport.js";
import type { ProbeTexts } from "../probe-text/probe-texts.js";
import { base, type Row } from "../runs/entry-row.js";
import type { EntryContext } from "../runs/execute-entry.js";
import { type CovertContext, drawShape, padText } from "../runs/probe-shape.js";
import { type Rng, sha256Hex } from "../runs/rng.js";
import { sampleCompletion, scoreUnderReference } from "./identity-probes.js";

/**
 * One identity sample: a sampled completion from the node and one from the reference on the same
 * random prompt, both scored by the reference. Stored as two numbers: `stat` is the node's mean
 * per-token logprob, `score` the paired reference sample's (this row is not an item score).
 */
export function identityEntry(
  transport: ProbeTransportShape,
  reference: EntryContext["reference"],
  node: { address: string; model: string },
  rng: Rng,
  texts: ProbeTexts,
  covert?: CovertContext,
): Effect.Effect<Row> {
  // Covert runs: a sampled customer shape (not greedy, no echo, a short enough answer to score).
  const drawn =
    covert === undefined
      ? undefined
      : drawShape(
          covert.mix,
          rng,
          (s) =>
            !s.echo &&
            s.turns === 0 &&
            (s.temperature ?? 1) >= 0.5 &&
            (s.maxTokens === null || s.maxTokens <= 256),
        );
  const padded = padText(texts.openingPrompt(rng), covert, rng, () => texts.openingPrompt(rng), drawn);
  const prompt = padded.prompt;
  const promptHash = sha256Hex(prompt);
  if (reference === undefined) {
    return Effect.succeed({ ...base, kind: "identity", category: "untested", status: "scored", promptHash });
  }
  const refTarget = { address: reference.targetNode, model: reference.model };
  return Effect.gen(function* () {
    const nodeShape =
      drawn === undefined ? undefined : { shape: drawn, rng, systemChars: padded.target?.context, texts };
    const nodeText = yield* sampleCompletion(transport, node, prompt, rng.int(2 ** 31), nodeShape);
    const refText = yield* sampleCompletion(
      reference.transport,
      refTarget,
      prompt,
      rng.int(2 ** 31),
      nodeShape,
    );
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
