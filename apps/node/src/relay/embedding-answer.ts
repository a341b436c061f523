import { packEmbedding } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { BackendRejected } from "../backends/backend.js";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The relay answer of an embeddings call: the engine's float vectors checked (one per input, in
 * order, each of the tier's length, every value finite) and packed as base64 float32, so the
 * node signs the vectors' exact bytes. The engine's token count is not trusted for billing: the
 * usage is the node's own count of the admitted input.
 */
export function packEmbeddingAnswer(
  payload: Record<string, unknown>,
  expected: { readonly inputs: number; readonly dimensions: number; readonly inputTokens: number },
  backend: string,
): Effect.Effect<Record<string, unknown>, BackendRejected> {
  const wrong = (reason: string) => Effect.fail(new BackendRejected({ backend, status: 502, reason }));
  const data = Array.isArray(payload.data) ? payload.data : [];
  if (data.length !== expected.inputs) {
    return wrong(`the engine returned ${data.length} embeddings for ${expected.inputs} inputs`);
  }
  const vectors: string[] = new Array(expected.inputs);
  for (const [position, item] of data.entries()) {
    const index = isRecord(item) && typeof item.index === "number" ? item.index : position;
    const embedding = isRecord(item) ? item.embedding : undefined;
    if (!Number.isInteger(index) || index < 0 || index >= expected.inputs || vectors[index] !== undefined) {
      return wrong("the engine's embeddings are not indexed one per input");
    }
    if (
      !Array.isArray(embedding) ||
      embedding.length !== expected.dimensions ||
      !embedding.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      return wrong(`an embedding is not ${expected.dimensions} finite numbers (check the engine's model)`);
    }
    vectors[index] = packEmbedding(embedding as number[]);
  }
  return Effect.succeed({
    object: "list",
    model: typeof payload.model === "string" ? payload.model : "",
    data: vectors.map((embedding, index) => ({ object: "embedding", index, embedding })),
    usage: { prompt_tokens: expected.inputTokens, total_tokens: expected.inputTokens },
  });
}
