import { z } from "zod";
import { ServiceId, TierId } from "../catalog/index.js";

const label = (max: number) => z.string().min(1).max(max);

/**
 * The model a node declares it serves for a service: the backend's own model name (`declared`,
 * e.g. `meta-llama/Llama-2-13b-chat-hf`), an optional family the tokenizer and the evaluator's
 * identity tests key on (`llama-2`, `mistral`), and the weights' quantization (`none`, `q4_k_m`,
 * `awq`…). A declaration, not a proof: the evaluator tests it statistically.
 *
 * @example
 * ```ts
 * NodeModelDeclaration.parse({ declared: "llama2:13b", family: "llama-2", quantization: "q4_0" });
 * ```
 */
export const NodeModelDeclaration = z.strictObject({
  declared: label(200),
  family: label(64).optional(),
  quantization: label(32),
});

/** A parsed {@link NodeModelDeclaration}. */
export type NodeModelDeclaration = z.infer<typeof NodeModelDeclaration>;

/**
 * What a node's backend can do for a service. Text flags mirror the OpenAI surface (`promptLogprobs`
 * is `echo` + `logprobs` scoring the prompt, which loglikelihood evaluation needs); `images` is
 * `null` for a text-only backend, otherwise one flag per image operation. Gateways route a request
 * only to nodes whose flags cover it. The later flags are optional so that older announcements still
 * parse; absent means not supported:
 * - `n`: several choices in one call (`n` > 1; llama.cpp server and TGI ignore it);
 * - `tools`: tool definitions (the model may call them) and tool-result turns in the conversation;
 * - `forcedToolChoice`: `tool_choice` naming a function or `"required"` is obeyed (Ollama, for one,
 *   takes tools but ignores a forced choice);
 * - `singleToolCall`: `parallel_tool_calls: false` is obeyed, at most one tool call per answer
 *   (llama.cpp server does; vLLM before 0.11 and Ollama ignore the field);
 * - `jsonMode`, `jsonSchema`: `response_format` `json_object` and `json_schema`;
 * - `tokenPrompts`: completion prompts as token ids (Ollama's OpenAI route takes text only);
 * - `suffix`: a completion's `suffix` (fill-in-the-middle: the text written ends where the suffix
 *   begins; Ollama does it, vLLM and llama.cpp server refuse it);
 * - `embeddings`: `/v1/embeddings`.
 *
 * @example
 * ```ts
 * NodeCapabilities.parse({
 *   completions: true, chat: true, streaming: true, promptLogprobs: false,
 *   logprobs: true, seed: true, tokenize: true, images: null,
 * });
 * ```
 */
export const NodeCapabilities = z.strictObject({
  completions: z.boolean(),
  chat: z.boolean(),
  streaming: z.boolean(),
  promptLogprobs: z.boolean(),
  logprobs: z.boolean(),
  seed: z.boolean(),
  tokenize: z.boolean(),
  n: z.boolean().optional(),
  tools: z.boolean().optional(),
  forcedToolChoice: z.boolean().optional(),
  singleToolCall: z.boolean().optional(),
  jsonMode: z.boolean().optional(),
  jsonSchema: z.boolean().optional(),
  tokenPrompts: z.boolean().optional(),
  /** `logit_bias` is applied; an older node that does not say is taken as not applying it. */
  logitBias: z.boolean().optional(),
  suffix: z.boolean().optional(),
  embeddings: z.boolean().optional(),
  images: z
    .strictObject({
      generate: z.boolean(),
      img2img: z.boolean(),
      inpaint: z.boolean(),
      outpaint: z.boolean(),
    })
    .nullable(),
});

/** A parsed {@link NodeCapabilities}. */
export type NodeCapabilities = z.infer<typeof NodeCapabilities>;

/**
 * How a node counts tokens for limit checks and usage: the backend's own tokenizer (`backend`), a
 * built-in family tokenizer (`llama-2`, `mistral`), the development backend's (`dev`) or a
 * character-based `estimate`. `exact` says whether counts match the served model's tokenizer;
 * gateways may prefer exact counters for per-token billing.
 *
 * @example
 * ```ts
 * NodeTokenizer.parse({ kind: "llama-2", exact: true });
 * ```
 */
export const NodeTokenizer = z.strictObject({
  kind: z.enum(["backend", "llama-2", "mistral", "dev", "estimate"]),
  exact: z.boolean(),
});

/** A parsed {@link NodeTokenizer}. */
export type NodeTokenizer = z.infer<typeof NodeTokenizer>;

/**
 * One service a node offers in its announcement: the catalog service id, the tiers it serves
 * (non-empty, no repeats), the model behind it, what the backend can do and how tokens are counted.
 *
 * @example
 * ```ts
 * const offer: NodeServiceOffer = {
 *   serviceId: "llama-2-13b", tiers: ["standard", "batch"],
 *   model: { declared: "meta-llama/Llama-2-13b-chat-hf", family: "llama-2", quantization: "none" },
 *   capabilities: { completions: true, chat: true, streaming: true, promptLogprobs: true,
 *     logprobs: true, seed: true, tokenize: true, images: null },
 *   tokenizer: { kind: "backend", exact: true },
 * };
 * ```
 */
export const NodeServiceOffer = z.strictObject({
  serviceId: ServiceId,
  tiers: z
    .array(TierId)
    .min(1)
    .max(16)
    .refine((tiers) => new Set(tiers).size === tiers.length, { message: "tiers must not repeat" }),
  model: NodeModelDeclaration,
  capabilities: NodeCapabilities,
  tokenizer: NodeTokenizer,
});

/** A parsed {@link NodeServiceOffer}. */
export type NodeServiceOffer = z.infer<typeof NodeServiceOffer>;
