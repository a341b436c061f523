import { z } from "zod";
import { ServiceId, TierId } from "../catalog/index.js";
import { announcedText } from "./announced-text.js";

const label = (max: number) => announcedText(max);

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

const capabilityFlags = {
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
};

const imageFlags = {
  generate: z.boolean(),
  img2img: z.boolean(),
  inpaint: z.boolean(),
  outpaint: z.boolean(),
};

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
 * Open to additions: a flag this version does not know (one a newer node announces), here or in
 * `images`, is dropped when parsed, so it reads as not supported and a node upgraded before its
 * gateways stays registered; at most {@link MAX_UNKNOWN_CAPABILITY_FLAGS} of them here and as many
 * in `images`. A known flag of the wrong type is still refused. The signature of an
 * announcement covers the flags as the node sent them, unknown ones included
 * ({@link UnsignedNodeAnnouncement}); they are dropped only once it has verified.
 *
 * @example
 * ```ts
 * NodeCapabilities.parse({
 *   completions: true, chat: true, streaming: true, promptLogprobs: false,
 *   logprobs: true, seed: true, tokenize: true, images: null,
 * });
 * ```
 */
export const NodeCapabilities = z.object({
  ...capabilityFlags,
  images: z.object(imageFlags).nullable(),
});

/** A parsed {@link NodeCapabilities}. */
export type NodeCapabilities = z.infer<typeof NodeCapabilities>;

/**
 * How many flags this version does not know one offer's `capabilities` may carry, and as many
 * again its `images`: room for the flags of many later versions, while an announcement cannot
 * make its verifier hash and then drop an unbounded number of keys. More is refused as
 * MALFORMED_ENVELOPE, `param` naming the object (`services.0.capabilities`).
 *
 * @example
 * ```ts
 * MAX_UNKNOWN_CAPABILITY_FLAGS; // 32
 * ```
 */
export const MAX_UNKNOWN_CAPABILITY_FLAGS = 32;

const fewUnknownKeys = (known: readonly string[]) => {
  const knownKeys = new Set(known);
  return [
    (value: Record<string, unknown>) =>
      Object.keys(value).filter((key) => !knownKeys.has(key)).length <= MAX_UNKNOWN_CAPABILITY_FLAGS,
    { message: `at most ${MAX_UNKNOWN_CAPABILITY_FLAGS} flags this version does not know` },
  ] as const;
};

/** {@link NodeCapabilities} as signed: flags this version does not know are kept, not dropped. */
const SignedNodeCapabilities = z
  .looseObject({
    ...capabilityFlags,
    images: z
      .looseObject(imageFlags)
      .refine(...fewUnknownKeys(Object.keys(imageFlags)))
      .nullable(),
  })
  .refine(...fewUnknownKeys([...Object.keys(capabilityFlags), "images"]));

const TOKENIZER_KINDS = ["backend", "llama-2", "mistral", "dev", "estimate"] as const;
const isKnownTokenizerKind = (kind: string): kind is (typeof TOKENIZER_KINDS)[number] =>
  (TOKENIZER_KINDS as readonly string[]).includes(kind);

/** {@link NodeTokenizer} as signed: any kind name, known to this version or not. */
const SignedNodeTokenizer = z.strictObject({ kind: label(64), exact: z.boolean() });

/**
 * How a node counts tokens for limit checks and usage: the backend's own tokenizer (`backend`), a
 * built-in family tokenizer (`llama-2`, `mistral`), the development backend's (`dev`) or a
 * character-based `estimate`. `exact` says whether counts match the served model's tokenizer;
 * gateways may prefer exact counters for per-token billing.
 *
 * Open to additions in `kind` only: a kind this version does not know (a family tokenizer a newer
 * node has) reads as `{ kind: "estimate", exact: false }`, counts the gateway cannot reproduce.
 * Other fields are closed.
 *
 * @example
 * ```ts
 * NodeTokenizer.parse({ kind: "llama-2", exact: true });
 * NodeTokenizer.parse({ kind: "qwen-2", exact: true }); // { kind: "estimate", exact: false }
 * ```
 */
export const NodeTokenizer = SignedNodeTokenizer.transform(
  ({ kind, exact }): { kind: (typeof TOKENIZER_KINDS)[number]; exact: boolean } =>
    isKnownTokenizerKind(kind) ? { kind, exact } : { kind: "estimate", exact: false },
);

/** A parsed {@link NodeTokenizer}. */
export type NodeTokenizer = z.infer<typeof NodeTokenizer>;

/**
 * One service a node offers in its announcement: the catalog service id, the tiers it serves
 * (non-empty, no repeats), the model behind it, what the backend can do and how tokens are counted.
 * Closed but for its capability flags and tokenizer kind (see {@link NodeCapabilities} and
 * {@link NodeTokenizer}): an unknown field is refused.
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
const offerShape = {
  serviceId: ServiceId,
  tiers: z
    .array(TierId)
    .min(1)
    .max(16)
    .refine((tiers) => new Set(tiers).size === tiers.length, { message: "tiers must not repeat" }),
  model: NodeModelDeclaration,
};

export const NodeServiceOffer = z.strictObject({
  ...offerShape,
  capabilities: NodeCapabilities,
  tokenizer: NodeTokenizer,
});

/** A parsed {@link NodeServiceOffer}. */
export type NodeServiceOffer = z.infer<typeof NodeServiceOffer>;

/**
 * {@link NodeServiceOffer} as a node signs it: unknown capability flags kept and any tokenizer kind,
 * so that a signature made by a newer node verifies here. {@link NodeServiceOffer} reads it.
 *
 * @example
 * ```ts
 * SignedNodeServiceOffer.parse(offerWithAFlagOfANewerVersion); // the flag is kept
 * ```
 */
export const SignedNodeServiceOffer = z.strictObject({
  ...offerShape,
  capabilities: SignedNodeCapabilities,
  tokenizer: SignedNodeTokenizer,
});

/** A parsed {@link SignedNodeServiceOffer}. */
export type SignedNodeServiceOffer = z.infer<typeof SignedNodeServiceOffer>;
