import { z } from "zod";
import { chatMaxTokens } from "../openai/chat-request.js";

/**
 * The most characters an organic sample carries in its prompt (a completion's prompt, or all of
 * a chat's message contents together) and in its output. A relay past either bound is not
 * sampled (a streamed one is dropped the moment its text passes it), so what a gateway holds in
 * memory stays small.
 *
 * @example
 * ```ts
 * if (output.length > ORGANIC_MAX_CHARS) dropSample();
 * ```
 */
export const ORGANIC_MAX_CHARS = 16_384;

/**
 * The most messages of a sampled chat.
 *
 * @example
 * ```ts
 * messages.length <= ORGANIC_MAX_MESSAGES;
 * ```
 */
export const ORGANIC_MAX_MESSAGES = 64;

/**
 * One message of a sampled chat: a role and plain text. Organic checks sample only chats whose
 * messages are all of this shape (no tool calls, tool results, names or content parts), so the
 * reference can answer the very same conversation.
 *
 * @example
 * ```ts
 * OrganicMessage.parse({ role: "user", content: "Name three rivers." });
 * ```
 */
export const OrganicMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant"]),
  content: z.string().max(ORGANIC_MAX_CHARS),
});
export type OrganicMessage = z.infer<typeof OrganicMessage>;

const served = {
  nodeAddress: z.string().min(1),
  serviceId: z.string().min(1),
  /** The node's output (choice 0's text or reply content), whole: a stream's is what it delivered. */
  output: z.string().max(ORGANIC_MAX_CHARS),
  /** `temperature`, `top_p`, `max_tokens` and `seed` as the customer sent them (chat: `max_tokens` is the smaller of it and `max_completion_tokens`). */
  params: z.record(z.string(), z.number()),
  /** True when the customer's relay was streamed. */
  stream: z.boolean().optional(),
};

const completionSample = z.object({
  /** Absent on samples from gateways that sample completions only. */
  kind: z.literal("completions").optional(),
  ...served,
  prompt: z.string().max(ORGANIC_MAX_CHARS),
});

const chatSample = z
  .object({
    kind: z.literal("chat"),
    ...served,
    messages: z.array(OrganicMessage).min(1).max(ORGANIC_MAX_MESSAGES),
  })
  .refine((s) => messageChars(s.messages) <= ORGANIC_MAX_CHARS, {
    message: `messages exceed ${ORGANIC_MAX_CHARS} characters`,
    path: ["messages"],
  });

/**
 * One customer relay a gateway set aside for an organic check: the served node, what the customer
 * asked (`prompt` for completions, `messages` for a chat with `kind: "chat"`), the node's output
 * and the sampling parameters. Held in the gateway's memory only until an evaluator takes it (or a
 * few minutes), handed over once, and never stored by either side — the evaluator keeps only the
 * score and hashes.
 *
 * @example
 * ```ts
 * OrganicSample.parse({ nodeAddress: "pokt1…", serviceId: "llama-2-13b", prompt: "Hi", output: " there", params: { temperature: 0.7 } });
 * OrganicSample.parse({
 *   kind: "chat", nodeAddress: "pokt1…", serviceId: "llama-2-13b", stream: true,
 *   messages: [{ role: "user", content: "Hi" }], output: "Hello!", params: { max_tokens: 64 },
 * });
 * ```
 */
export const OrganicSample = z.union([completionSample, chatSample]);
export type OrganicSample = z.infer<typeof OrganicSample>;

/** The kinds of organic sample, as `kinds` of {@link ORGANIC_SAMPLES_PATH} names them. */
export type OrganicSampleKind = "completions" | "chat";

/**
 * What `GET /v1/pocket/organic-samples?node=…&kinds=…` answers (evaluator keys only). `kinds`
 * (comma-separated: `completions`, `chat`) names the kinds the caller can score; without it a
 * gateway hands out completions samples only, the one kind older evaluators read.
 *
 * @example
 * ```ts
 * OrganicSamples.parse({ samples: [] });
 * ```
 */
export const OrganicSamples = z.object({ samples: z.array(OrganicSample) });
export type OrganicSamples = z.infer<typeof OrganicSamples>;

/**
 * Where a gateway hands organic samples to evaluator keys, under its `/v1` base URL.
 *
 * @example
 * ```ts
 * fetch(`${baseUrl}${ORGANIC_SAMPLES_PATH}?node=${address}&kinds=completions,chat`);
 * ```
 */
export const ORGANIC_SAMPLES_PATH = "/pocket/organic-samples";

/**
 * What an organic check needs of a customer's request — the prompt or messages and the sampling
 * parameters — or `undefined` when organic checks do not sample such a request: anything but one
 * choice (`n` 1) of plain text — a completion with one string prompt, no `echo` or `suffix`; a chat
 * of plain-text messages (see {@link OrganicMessage}) without `tools`, `functions` or a
 * `response_format` other than text — or a prompt past the bounds. Streamed or not alike.
 *
 * @example
 * ```ts
 * organicRequestOf("chat.completions", { model: "m", messages: [{ role: "user", content: "Hi" }], temperature: 0.7 });
 * // { kind: "chat", messages: [{ role: "user", content: "Hi" }], params: { temperature: 0.7 } }
 * ```
 */
export function organicRequestOf(
  operation: string,
  body: Readonly<Record<string, unknown>>,
):
  | { readonly kind: "completions"; readonly prompt: string; readonly params: Record<string, number> }
  | { readonly kind: "chat"; readonly messages: OrganicMessage[]; readonly params: Record<string, number> }
  | undefined {
  if (body.n !== undefined && body.n !== null && body.n !== 1) return undefined;
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1) return undefined;
  if (operation === "completions") {
    const prompt = body.prompt;
    if (typeof prompt !== "string" || prompt.length > ORGANIC_MAX_CHARS) return undefined;
    if (body.echo === true || (typeof body.suffix === "string" && body.suffix !== "")) return undefined;
    return { kind: "completions", prompt, params: paramsOf(body, body.max_tokens) };
  }
  if (operation !== "chat.completions") return undefined;
  if (present(body.tools) || present(body.functions) || present(body.tool_choice)) return undefined;
  const format = body.response_format as { type?: unknown } | null | undefined;
  if (format !== undefined && format !== null && format.type !== "text") return undefined;
  const messages = organicMessagesOf(body.messages);
  if (messages === undefined) return undefined;
  const max = chatMaxTokens({
    max_tokens: typeof body.max_tokens === "number" ? body.max_tokens : undefined,
    max_completion_tokens:
      typeof body.max_completion_tokens === "number" ? body.max_completion_tokens : undefined,
  });
  return { kind: "chat", messages, params: paramsOf(body, max) };
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
}

function messageChars(messages: readonly OrganicMessage[]): number {
  return messages.reduce((sum, m) => sum + m.content.length, 0);
}

const ROLES: ReadonlySet<unknown> = new Set(OrganicMessage.shape.role.options);

function organicMessagesOf(raw: unknown): OrganicMessage[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > ORGANIC_MAX_MESSAGES) return undefined;
  const messages: OrganicMessage[] = [];
  for (const m of raw as Record<string, unknown>[]) {
    if (!ROLES.has(m.role) || typeof m.content !== "string") return undefined;
    if (present(m.tool_calls) || present(m.function_call) || present(m.name)) return undefined;
    messages.push({ role: m.role as OrganicMessage["role"], content: m.content });
  }
  return messageChars(messages) <= ORGANIC_MAX_CHARS ? messages : undefined;
}

const SAMPLING_FIELDS = ["temperature", "top_p", "seed"] as const;

function paramsOf(body: Readonly<Record<string, unknown>>, maxTokens: unknown): Record<string, number> {
  const params: Record<string, number> = {};
  for (const field of SAMPLING_FIELDS) {
    const v = body[field];
    if (typeof v === "number" && Number.isFinite(v)) params[field] = v;
  }
  if (typeof maxTokens === "number" && Number.isFinite(maxTokens)) params.max_tokens = maxTokens;
  return params;
}
