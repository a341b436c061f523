import type { BackendCapabilities } from "./backend.js";

const TEXT_KEYS = [
  "completions",
  "chat",
  "streaming",
  "promptLogprobs",
  "logprobs",
  "seed",
  "tokenize",
  "n",
  "tools",
  "forcedToolChoice",
  "singleToolCall",
  "jsonMode",
  "jsonSchema",
  "tokenPrompts",
  "logitBias",
  "suffix",
  "embeddings",
] as const;

/**
 * The capabilities every one of several backends has: a pool may hand a relay to any of them, so
 * it can only promise what the weakest does (one Ollama next to a vLLM means no prompt logprobs).
 */
export function commonCapabilities(all: readonly BackendCapabilities[]): BackendCapabilities {
  const text = Object.fromEntries(TEXT_KEYS.map((key) => [key, all.every((c) => c[key])])) as Record<
    (typeof TEXT_KEYS)[number],
    boolean
  >;
  const images = all.every((c) => c.images !== null)
    ? {
        generate: all.every((c) => c.images?.generate === true),
        img2img: all.every((c) => c.images?.img2img === true),
        inpaint: all.every((c) => c.images?.inpaint === true),
        outpaint: all.every((c) => c.images?.outpaint === true),
      }
    : null;
  return { ...text, images };
}
