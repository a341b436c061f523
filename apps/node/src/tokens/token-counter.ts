import {
  prepareFamilyTokenizers,
  tokenizerFamilyOf,
  familyTokenizer as tokenizerOf,
} from "@pocket-ai/tokens";
import { Effect } from "effect";

/**
 * How a node counts input tokens for a service, in the order they are preferred:
 * - `dev`: the development backend's tokenizer;
 * - `llama-2`, `mistral`: the declared family's SentencePiece tokenizer, run in-process — the
 *   count the engine's tokenizer gives, without a round trip per relay;
 * - `backend`: the engine's own tokenize endpoint (vLLM, llama.cpp, TGI) for other families;
 * - `estimate`: about four characters a token. Only when nothing better exists, and `info` says so,
 *   because a limit enforced on an estimate can be off by a few tokens either way.
 */
export type TokenizerKind = "backend" | "llama-2" | "mistral" | "dev" | "estimate";

export interface TokenCounter {
  readonly kind: TokenizerKind;
  readonly exact: boolean;
  count(text: string): Effect.Effect<number, unknown>;
}

/** Picks the in-process tokenizer for a declared model family or model name, if one exists. */
export function familyTokenizer(familyOrModel: string | undefined): TokenCounter | undefined {
  const family = tokenizerFamilyOf(familyOrModel);
  if (family === undefined) return undefined;
  // The prompt count includes the BOS token the engines prepend, as vLLM's `usage.prompt_tokens` does.
  const tokenizer = tokenizerOf(family);
  // Its tables are built here, while the node starts, rather than in the first relay.
  prepareFamilyTokenizers([family]);
  return { kind: family, exact: true, count: (text) => Effect.sync(() => tokenizer.countPrompt(text)) };
}

/** The estimate used when no tokenizer is known: one token per four UTF-16 code units, rounded up. */
export const estimateTokenCounter: TokenCounter = {
  kind: "estimate",
  exact: false,
  count: (text) => Effect.succeed(text.length === 0 ? 0 : Math.ceil(text.length / 4)),
};

/**
 * The best counter for a service: the engine's tokenize endpoint when it has one, else the
 * family tokenizer, else the estimate.
 */
export function chooseTokenCounter(options: {
  readonly family: string | undefined;
  readonly backendTokenize?: ((text: string) => Effect.Effect<number, unknown>) | undefined;
  readonly devTokenize?: ((text: string) => number) | undefined;
}): TokenCounter {
  const dev = options.devTokenize;
  if (dev !== undefined) return { kind: "dev", exact: true, count: (text) => Effect.sync(() => dev(text)) };
  // A declared family the node can count itself is as exact as the engine, without a round trip
  // to the engine's tokenizer on every relay.
  const family = familyTokenizer(options.family);
  if (family !== undefined) return family;
  if (options.backendTokenize !== undefined)
    return { kind: "backend", exact: true, count: options.backendTokenize };
  return estimateTokenCounter;
}
