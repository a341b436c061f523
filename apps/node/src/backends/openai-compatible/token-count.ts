import { Effect } from "effect";
import { BackendRejected } from "../backend.js";

/**
 * Reads a token count from any engine's `/tokenize` answer: vLLM `{count, tokens}`, llama.cpp
 * `{tokens: [...]}`, TGI a bare array of `{id, text, start, stop}`.
 */
export function tokenCount(backendId: string, response: unknown): Effect.Effect<number, BackendRejected> {
  if (Array.isArray(response)) return Effect.succeed(response.length);
  if (typeof response === "object" && response !== null) {
    const { count, tokens } = response as { count?: unknown; tokens?: unknown };
    if (typeof count === "number" && Number.isInteger(count) && count >= 0) return Effect.succeed(count);
    if (Array.isArray(tokens)) return Effect.succeed(tokens.length);
  }
  return Effect.fail(
    new BackendRejected({
      backend: backendId,
      status: 502,
      reason: "tokenize answer has neither count nor tokens",
    }),
  );
}
