import type { BackendKind } from "../config/node-config.js";
import type { BackendCapabilities } from "./backend.js";

const NO_TEXT = {
  completions: false,
  chat: false,
  streaming: false,
  promptLogprobs: false,
  logprobs: false,
  seed: false,
  tokenize: false,
  n: false,
  tools: false,
  forcedToolChoice: false,
  singleToolCall: false,
  jsonMode: false,
  jsonSchema: false,
  tokenPrompts: false,
  logitBias: false,
  suffix: false,
  embeddings: false,
} as const;

/** An in-process text engine (llama.cpp on a GGUF file): what its code does, no more. */
const GGUF_TEXT: BackendCapabilities = {
  completions: true,
  chat: true,
  streaming: true,
  promptLogprobs: true,
  logprobs: true,
  seed: true,
  tokenize: true,
  n: true,
  tools: false,
  forcedToolChoice: false,
  singleToolCall: false,
  jsonMode: false,
  jsonSchema: false,
  tokenPrompts: true,
  logitBias: false,
  suffix: false,
  embeddings: false,
  images: null,
};

/**
 * What each engine is declared to do, from its documented API; `pocket-node check` compares these
 * with what the running engine really does (`src/check/`). When in doubt, a capability is
 * declared false: a refused relay is cheaper than a wrong answer the evaluator has to catch.
 *
 * - vLLM: the whole OpenAI surface, including `echo` + `logprobs` scoring the prompt tokens.
 * - llama.cpp server: ignores `echo`, so no prompt logprobs; generated-token logprobs via
 *   `logprobs` (its `n_probs`); `/tokenize` with `{content}`.
 * - Ollama: no prompt logprobs and no tokenize endpoint; its `/v1/completions` logprobs support
 *   depends on the version, so it is not declared.
 * - TGI: the Messages API (`/v1/chat/completions`) only. Recent TGI versions answer
 *   `/v1/completions` too, but without `echo` or prompt logprobs, so completions are not declared;
 *   the adapter still forwards them (the probe shows whether this TGI has the route).
 * - AUTOMATIC1111: images only; outpainting is built by the adapter as an inpainting request.
 * - gguf: a GGUF model run in-process by llama.cpp (`gguf/`): completions and chat, streaming,
 *   prompt and generated-token logprobs, seeded sampling, `n` samples (each seeded `seed + i`),
 *   token-id prompts and the model's own tokenizer. No tools, no JSON output (it samples without a
 *   grammar), no embeddings, no images.
 * - dev: everything, deterministically (it is the reference the tests and local networks use),
 *   except tools and JSON output, which it does not do.
 *
 * Several choices (`n`): vLLM and the dev backend; llama.cpp server and TGI ignore `n`, Ollama's
 * OpenAI route too. Tools: vLLM needs `--enable-auto-tool-choice` and a parser, llama.cpp `--jinja`,
 * so neither is declared by default; an operator who started the engine so sets
 * `capabilities: { tools: true, forcedToolChoice: true }` on the backend, and the node's start-up
 * probe (and `pocket-node check`) confirms it. Ollama takes tools but ignores a forced
 * `tool_choice` (it answers in prose or calls whatever it likes), so it declares `tools` only. At most
 * one tool call (`parallel_tool_calls: false`, `singleToolCall`): llama.cpp server obeys it (one call
 * is its default); vLLM from 0.11 does (an operator running one declares it); Ollama and older vLLM
 * ignore the field, so such a request is refused there, never answered with several calls. JSON output:
 * vLLM (guided decoding), llama.cpp (grammars), Ollama (`json_object` only). Token-id prompts: vLLM,
 * llama.cpp and the dev backend. Token biases (`logit_bias`): vLLM and llama.cpp; Ollama's OpenAI route
 * and TGI drop it, and the gguf and dev backends do not apply it, so a request with one is refused
 * there, never answered as if unbiased. A completion's `suffix` (fill-in-the-middle): Ollama only;
 * vLLM and llama.cpp server refuse it, and the gguf and dev backends do not write towards one.
 */
export const ENGINE_CAPABILITIES: Record<BackendKind, BackendCapabilities> = {
  vllm: {
    completions: true,
    chat: true,
    streaming: true,
    promptLogprobs: true,
    logprobs: true,
    seed: true,
    tokenize: true,
    n: true,
    tools: false,
    forcedToolChoice: false,
    singleToolCall: false,
    jsonMode: true,
    jsonSchema: true,
    tokenPrompts: true,
    logitBias: true,
    suffix: false,
    embeddings: false,
    images: null,
  },
  llamacpp: {
    completions: true,
    chat: true,
    streaming: true,
    promptLogprobs: false,
    logprobs: true,
    seed: true,
    tokenize: true,
    n: false,
    tools: false,
    forcedToolChoice: false,
    singleToolCall: true,
    jsonMode: true,
    jsonSchema: true,
    tokenPrompts: true,
    logitBias: true,
    suffix: false,
    embeddings: false,
    images: null,
  },
  ollama: {
    completions: true,
    chat: true,
    streaming: true,
    promptLogprobs: false,
    logprobs: false,
    seed: true,
    tokenize: false,
    n: false,
    tools: true,
    forcedToolChoice: false,
    singleToolCall: false,
    jsonMode: true,
    jsonSchema: false,
    tokenPrompts: false,
    logitBias: false,
    suffix: true,
    embeddings: false,
    images: null,
  },
  tgi: {
    completions: false,
    chat: true,
    streaming: true,
    promptLogprobs: false,
    logprobs: true,
    seed: true,
    tokenize: true,
    n: false,
    tools: false,
    forcedToolChoice: false,
    singleToolCall: false,
    jsonMode: false,
    jsonSchema: false,
    tokenPrompts: false,
    logitBias: false,
    suffix: false,
    embeddings: false,
    images: null,
  },
  a1111: {
    ...NO_TEXT,
    images: { generate: true, img2img: true, inpaint: true, outpaint: true },
  },
  comfyui: {
    ...NO_TEXT,
    images: { generate: true, img2img: true, inpaint: true, outpaint: true },
  },
  gguf: GGUF_TEXT,
  // The development engine: the same text calls as an in-process GGUF model, and pictures too.
  dev: {
    ...GGUF_TEXT,
    images: { generate: true, img2img: true, inpaint: true, outpaint: true },
  },
};

/** The dev backend serving an image service answers no text calls, and the reverse. */
export function devCapabilities(serviceKind: "text" | "image" | "embedding"): BackendCapabilities {
  const all = ENGINE_CAPABILITIES.dev;
  if (serviceKind === "embedding") return { ...NO_TEXT, images: null, embeddings: true };
  return serviceKind === "text" ? { ...all, images: null } : { ...NO_TEXT, images: all.images };
}

/** An engine's capabilities with the operator's declared overrides (`capabilities` in the backend config). */
export function withOverrides(
  base: BackendCapabilities,
  overrides: Partial<Record<Exclude<keyof BackendCapabilities, "images">, boolean | undefined>> | undefined,
): BackendCapabilities {
  if (overrides === undefined) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) out[key] = value;
  return out as unknown as BackendCapabilities;
}
