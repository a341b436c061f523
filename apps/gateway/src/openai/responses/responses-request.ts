import { type ErrorCode, fail, ok, type Result } from "@pocket-ai/protocol";

/**
 * What `/v1/responses` takes, and how it becomes a `/v1/chat/completions` body for the ordinary
 * chat relay path (same field policy, limits, budget, pricing, signing and settlement).
 *
 * Every field is one of four kinds: mapped onto chat (`model`, `input`, `instructions`,
 * `max_output_tokens`, `temperature`, `top_p`, `stream`, `user`); accepted because it asks for
 * nothing the gateway would not do anyway (`store: false`, `metadata`, echoed back and never
 * kept; an empty `tools`, `include` or `reasoning: null`); refused with a stable code because
 * it needs stored state (`RESPONSE_NOT_STORED`) or a feature not offered here
 * (`UNSUPPORTED_RESPONSES_FEATURE`); anything else is `UNKNOWN_PARAMETER`.
 */

/** What the answer echoes back of the request (OpenAI's response object repeats these). */
export interface ResponsesEcho {
  readonly instructions: string | null;
  readonly maxOutputTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
  readonly metadata: Record<string, string>;
  readonly user: string | null;
}

export interface TranslatedResponsesRequest {
  /** The `/v1/chat/completions` body, validated again by the chat path. */
  readonly chat: Record<string, unknown>;
  readonly stream: boolean;
  readonly echo: ResponsesEcho;
}

type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields that need a response the gateway kept: it keeps none. */
const NEEDS_STORAGE = new Set(["previous_response_id", "conversation"]);

/** Fields of features not offered here, refused when they ask for anything. */
const FEATURES = new Set([
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "max_tool_calls",
  "reasoning",
  "background",
  "include",
  "text",
  "truncation",
  "top_logprobs",
  "prompt",
  "prompt_cache_key",
  "prompt_cache_retention",
  "service_tier",
  "safety_identifier",
  "stream_options",
]);

const MAPPED = new Set([
  "model",
  "input",
  "instructions",
  "max_output_tokens",
  "temperature",
  "top_p",
  "stream",
  "store",
  "metadata",
  "user",
]);

/** Values of the feature fields that ask for nothing (the defaults clients send explicitly). */
function asksForNothing(field: string, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  switch (field) {
    case "tools":
    case "include":
      return Array.isArray(value) && value.length === 0;
    case "tool_choice":
      return value === "none" || value === "auto";
    case "parallel_tool_calls":
      return typeof value === "boolean";
    case "background":
      return value === false;
    case "text":
      return (
        isRecord(value) &&
        Object.keys(value).every((k) => k === "format") &&
        (value.format === undefined || (isRecord(value.format) && value.format.type === "text"))
      );
    case "truncation":
      return value === "disabled";
    case "service_tier":
      return value === "auto" || value === "default";
    case "stream_options":
      return isRecord(value) && Object.keys(value).length === 0;
    default:
      return false;
  }
}

const refuse = (code: ErrorCode, detail: string, param: string) => fail<never>(code, detail, param);

/** One content part's text, or why it is refused. */
function partText(part: unknown, param: string): Result<string> {
  if (!isRecord(part)) return refuse("INVALID_REQUEST", "a content part must be an object", param);
  const type = part.type;
  if (type === "input_text" || type === "output_text" || type === "text") {
    if (typeof part.text !== "string")
      return refuse("INVALID_REQUEST", "text must be a string", `${param}.text`);
    return ok(part.text);
  }
  if (type === "input_image" || type === "input_file" || type === "input_audio") {
    return refuse(
      "UNSUPPORTED_RESPONSES_FEATURE",
      `${String(type)} parts are not offered; send text`,
      `${param}.type`,
    );
  }
  if (type === "refusal" && typeof part.refusal === "string") return ok(part.refusal);
  return refuse("INVALID_REQUEST", `unknown content part type ${JSON.stringify(type)}`, `${param}.type`);
}

const ROLES: Readonly<Record<string, ChatMessage["role"]>> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
};
const MESSAGE_FIELDS = new Set(["type", "role", "content", "id", "status", "phase"]);

/** One `input` item as a chat message, or why it is refused. */
function inputMessage(item: unknown, param: string): Result<ChatMessage> {
  if (!isRecord(item)) return refuse("INVALID_REQUEST", "an input item must be an object", param);
  const type = item.type ?? "message";
  if (type === "item_reference") {
    return refuse("RESPONSE_NOT_STORED", "an item_reference points at a stored item", `${param}.type`);
  }
  if (type !== "message") {
    return refuse(
      "UNSUPPORTED_RESPONSES_FEATURE",
      `${JSON.stringify(type)} items are not offered`,
      `${param}.type`,
    );
  }
  const role = typeof item.role === "string" ? ROLES[item.role] : undefined;
  if (role === undefined) {
    return refuse("INVALID_REQUEST", "role must be user, assistant, system or developer", `${param}.role`);
  }
  const extra = Object.keys(item).find((k) => !MESSAGE_FIELDS.has(k));
  if (extra !== undefined)
    return refuse("UNKNOWN_PARAMETER", `${param} has no field ${extra}`, `${param}.${extra}`);
  if (typeof item.content === "string") return ok({ role, content: item.content });
  if (!Array.isArray(item.content)) {
    return refuse("INVALID_REQUEST", "content must be a string or an array of parts", `${param}.content`);
  }
  const texts: string[] = [];
  for (const [i, part] of item.content.entries()) {
    const text = partText(part, `${param}.content.${i}`);
    if (!text.ok) return text;
    texts.push(text.value);
  }
  return ok({ role, content: texts.join("") });
}

function numberOrNull(body: Record<string, unknown>, field: string): Result<number | null> {
  const value = body[field];
  if (value === undefined || value === null) return ok(null);
  if (typeof value !== "number") return refuse("INVALID_REQUEST", `${field} must be a number`, field);
  return ok(value);
}

/**
 * A `/v1/responses` body as a chat body. `instructions` comes first as a system message; `input`
 * is a string (one user message) or a list of message items (the whole conversation: nothing is
 * stored, so multi-turn is the client sending every turn). Streams always ask the node for the
 * usage chunk, which `response.completed` reports.
 */
export function translateResponsesRequest(raw: unknown): Result<TranslatedResponsesRequest> {
  if (!isRecord(raw)) return fail("INVALID_REQUEST", "the body must be a JSON object");
  for (const field of Object.keys(raw)) {
    const value = raw[field];
    if (NEEDS_STORAGE.has(field) && value !== null && value !== undefined) {
      return refuse("RESPONSE_NOT_STORED", `${field} refers to stored state`, field);
    }
    if (FEATURES.has(field) && !asksForNothing(field, value)) {
      return refuse("UNSUPPORTED_RESPONSES_FEATURE", `${field} is not offered`, field);
    }
    if (!NEEDS_STORAGE.has(field) && !FEATURES.has(field) && !MAPPED.has(field)) {
      return refuse("UNKNOWN_PARAMETER", `the Responses API has no field ${field}`, field);
    }
  }
  if (raw.store === true)
    return refuse("RESPONSE_NOT_STORED", "store: true asks the gateway to keep the response", "store");
  if (raw.store !== undefined && raw.store !== null && raw.store !== false) {
    return refuse("INVALID_REQUEST", "store must be a boolean", "store");
  }

  const messages: ChatMessage[] = [];
  const instructions = raw.instructions ?? null;
  if (instructions !== null && typeof instructions !== "string") {
    return refuse("INVALID_REQUEST", "instructions must be a string", "instructions");
  }
  if (instructions !== null) messages.push({ role: "system", content: instructions });
  if (typeof raw.input === "string") messages.push({ role: "user", content: raw.input });
  else if (Array.isArray(raw.input)) {
    for (const [i, item] of raw.input.entries()) {
      const message = inputMessage(item, `input.${i}`);
      if (!message.ok) return message;
      messages.push(message.value);
    }
  } else return refuse("INVALID_REQUEST", "input must be a string or a list of message items", "input");
  if (!messages.some((m) => m.role === "user")) {
    return refuse("INVALID_REQUEST", "input must hold at least one user message", "input");
  }

  const maxOutputTokens = numberOrNull(raw, "max_output_tokens");
  if (!maxOutputTokens.ok) return maxOutputTokens;
  const temperature = numberOrNull(raw, "temperature");
  if (!temperature.ok) return temperature;
  const topP = numberOrNull(raw, "top_p");
  if (!topP.ok) return topP;
  const metadata = raw.metadata ?? {};
  if (!isRecord(metadata) || !Object.values(metadata).every((v) => typeof v === "string")) {
    return refuse("INVALID_REQUEST", "metadata must map strings to strings", "metadata");
  }
  const user = raw.user ?? null;
  if (user !== null && typeof user !== "string")
    return refuse("INVALID_REQUEST", "user must be a string", "user");
  if (raw.stream !== undefined && raw.stream !== null && typeof raw.stream !== "boolean") {
    return refuse("INVALID_REQUEST", "stream must be a boolean", "stream");
  }
  const stream = raw.stream === true;

  const chat: Record<string, unknown> = { model: raw.model, messages };
  if (maxOutputTokens.value !== null) chat.max_tokens = maxOutputTokens.value;
  if (temperature.value !== null) chat.temperature = temperature.value;
  if (topP.value !== null) chat.top_p = topP.value;
  if (user !== null) chat.user = user;
  if (stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return ok({
    chat,
    stream,
    echo: {
      instructions,
      maxOutputTokens: maxOutputTokens.value,
      temperature: temperature.value,
      topP: topP.value,
      metadata: metadata as Record<string, string>,
      user,
    },
  });
}
