import { z } from "zod";
import { describeIssues } from "./request-error.js";

/**
 * What the development text engine accepts, with OpenAI /v1/completions defaults. Limits here
 * are the engine's own sanity bounds; a service's token limits are enforced by the node.
 */
export const TextCompletionRequest = z.object({
  prompt: z.string(),
  /**
   * The token ids the client sent, when it sent ids (`prompt` is their text): an engine with the
   * model's own tokenizer evaluates exactly these, so that an echo has one token per id sent.
   */
  promptTokens: z.array(z.number().int().min(0)).optional(),
  maxTokens: z.number().int().min(0).max(100_000),
  temperature: z.number().min(0).max(2).optional().default(1),
  topP: z.number().min(0).max(1).optional().default(1),
  /** 0 turns top-k off. */
  topK: z.number().int().min(0).optional().default(0),
  /** Same seed, same request, same engine: same completion. A random seed is used (and returned) otherwise. */
  seed: z.number().int().refine(Number.isSafeInteger, "seed must be a safe integer").optional(),
  stop: z.array(z.string()).max(16).optional().default([]),
  /** Return the prompt before the completion, and with logprobs score the prompt's tokens. */
  echo: z.boolean().optional().default(false),
  /** Number of top alternatives per token; setting it (even to 0) turns logprobs on. */
  logprobs: z.number().int().min(0).max(20).optional(),
  ignoreEos: z.boolean().optional().default(false),
  /** OpenAI's penalties on tokens already generated (see `penalize`). */
  presencePenalty: z.number().min(-2).max(2).optional().default(0),
  frequencyPenalty: z.number().min(-2).max(2).optional().default(0),
});
export type TextCompletionRequest = z.input<typeof TextCompletionRequest>;
export type ParsedTextCompletionRequest = z.output<typeof TextCompletionRequest>;

export function parseTextRequest(request: TextCompletionRequest): ParsedTextCompletionRequest {
  const parsed = TextCompletionRequest.safeParse(request);
  if (!parsed.success) throw describeIssues("completion request", parsed.error.issues);
  return parsed.data;
}
