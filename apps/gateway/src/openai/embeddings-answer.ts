import { unpackEmbedding } from "@pocket-ai/protocol";
import type { AnswerPresenter } from "./answer-presenter.js";

/**
 * `/v1/embeddings` answers as the client asked: the relay carries every vector as base64
 * float32 (the bytes the node signed, checked by the dispatcher), written as is for
 * `encoding_format: "base64"` and decoded to numbers for `float` (the default). Embeddings never
 * stream, so the stream events are empty.
 */
export function embeddingsPresenter(encoding: "float" | "base64"): AnswerPresenter {
  return {
    unary(payload) {
      if (encoding === "base64" || !Array.isArray(payload.data)) return payload;
      const data = payload.data.map((item: Record<string, unknown>) => ({
        ...item,
        embedding:
          typeof item.embedding === "string" ? (unpackEmbedding(item.embedding) ?? []) : item.embedding,
      }));
      return { ...payload, data };
    },
    open: () => "",
    chunk: () => "",
    close: () => "",
    fail: () => "",
  };
}
