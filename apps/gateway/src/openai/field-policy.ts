import {
  ChatCompletionRequest,
  CompletionRequest,
  chatPartAsText,
  EmbeddingRequest,
  fail,
  ImageEditRequest,
  ImageGenerationRequest,
  ok,
  type Result,
  type ServiceOperation,
} from "@pocket-ai/protocol";

/**
 * The gateway's per-field policy for `/v1/*` bodies (docs/gateway.md, "Fields the gateway
 * accepts"). The protocol's OpenAI schemas are loose (they let unknown fields through, so that
 * third parties can read newer payloads); the front door is not. Every field a client sends is
 * one of three kinds:
 * - a field of the operation's schema: validated by the schema, then signed and relayed;
 * - a field in {@link DROPPED}: an OpenAI field with no effect on what a node generates
 *   (storage, tagging, routing hints of OpenAI's own service); removed before signing;
 * - an OpenAI field no service here offers (`reasoning_effort`, audio, image `quality`, …): refused
 *   with `UNSUPPORTED_PARAMETER` (400) naming the field, unless its value asks for nothing an
 *   answer is not anyway (null, OpenAI's default such as `modalities: ["text"]` or
 *   `quality: "auto"`), which is removed like a dropped field;
 * - anything else: refused with `UNKNOWN_PARAMETER` (400) naming the field. Engine options
 *   (`n_predict`, `num_predict`, `max_new_tokens`, `min_tokens`, …) would bypass the tier's
 *   limits if a node forwarded them, so they are refused with a pointer to the OpenAI field.
 * The same holds inside chat messages, their content parts, `stream_options`, `tools` and
 * `response_format` (whose JSON schemas, `parameters` and `schema`, are free-form by nature).
 */

/**
 * OpenAI fields that change nothing a node does; dropped, never forwarded. The end-user
 * identifiers (`user`, `safety_identifier`) and the prompt-cache hints (`prompt_cache_key`,
 * `prompt_cache_retention`) serve OpenAI's own service; a node is a stranger and has no use for
 * who the end user is.
 */
export const DROPPED: ReadonlySet<string> = new Set([
  "store",
  "metadata",
  "service_tier",
  "user",
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
]);

/**
 * Engine options clients copy from engine docs, with the OpenAI field that does the job. Maps,
 * not objects, wherever a client's text is the key: `toString` or `__proto__` is no entry.
 */
const ENGINE_OPTIONS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    n_predict: "max_tokens",
    num_predict: "max_tokens",
    max_new_tokens: "max_tokens",
    max_length: "max_tokens",
    min_tokens: "max_tokens",
    min_new_tokens: "max_tokens",
    num_ctx: "max_tokens",
    truncate: "max_tokens",
    repeat_penalty: "frequency_penalty",
    repetition_penalty: "frequency_penalty",
    typical_p: "top_p",
    min_p: "top_p",
    mirostat: "temperature",
    grammar: "response_format",
    guided_json: "response_format",
    guided_regex: "response_format",
    json_schema: "response_format",
    use_beam_search: "n",
    num_beams: "n",
  }),
);

/** What an OpenAI field the gateway does not offer asks for, and which of its values ask for nothing. */
interface NotOffered {
  readonly what: string;
  /** A value that asks for what every answer is anyway: the field is removed, not refused. */
  readonly neutral: (value: unknown) => boolean;
}

const isNull = (value: unknown) => value === null;
const oneOf =
  (...values: unknown[]) =>
  (value: unknown) =>
    value === null || values.includes(value);
const notOffered = (what: string, neutral: (value: unknown) => boolean = isNull): NotOffered => ({
  what,
  neutral,
});

const CHAT_NOT_OFFERED = new Map(
  Object.entries({
    modalities: notOffered(
      "audio output (models here answer in text only)",
      (value) => value === null || (Array.isArray(value) && value.length === 1 && value[0] === "text"),
    ),
    audio: notOffered("audio output (models here answer in text only)"),
    reasoning_effort: notOffered("reasoning effort (no model here reasons before answering)"),
    verbosity: notOffered("verbosity (no model here takes it)"),
    web_search_options: notOffered("web search"),
    functions: notOffered("deprecated function calling; send `tools` instead"),
    function_call: notOffered("deprecated function calling; send `tool_choice` instead"),
    // Predicted output only speeds OpenAI's decoding up: the answer is the same without it.
    prediction: notOffered("predicted output", () => true),
  }),
);

// Multipart image edits carry every field as text.
const IMAGE_NOT_OFFERED = new Map(
  Object.entries({
    quality: notOffered(
      "a quality level (the tier sets how an image is made; `steps` asks for more)",
      oneOf("auto", "standard"),
    ),
    style: notOffered("a DALL·E style (describe the style in the prompt)"),
    background: notOffered("a transparent or opaque background", oneOf("auto")),
    output_format: notOffered("an image format other than PNG", oneOf("png")),
    output_compression: notOffered("output compression (images are PNG)"),
    moderation: notOffered("OpenAI's moderation level"),
    stream: notOffered("streamed images", oneOf(false, "false")),
    partial_images: notOffered("partial images", oneOf(0, "0")),
    input_fidelity: notOffered("input fidelity"),
  }),
);

const NOT_OFFERED: Record<ServiceOperation, ReadonlyMap<string, NotOffered>> = {
  completions: new Map(),
  "chat.completions": CHAT_NOT_OFFERED,
  "images.generations": IMAGE_NOT_OFFERED,
  "images.edits": IMAGE_NOT_OFFERED,
  embeddings: new Map(),
};

/** Content parts of inputs no service here takes: refused at their `type`. */
const CONTENT_PART_NOT_OFFERED: ReadonlyMap<string, string> = new Map(
  Object.entries({
    image_url: "image input (models here take text only)",
    input_audio: "audio input (models here take text only)",
    file: "file input (send the file's text as a text part)",
  }),
);

const MESSAGE_NOT_OFFERED: ReadonlyMap<string, NotOffered> = new Map(
  Object.entries({
    audio: notOffered("audio from an earlier answer (models here answer in text only)"),
    function_call: notOffered("deprecated function calling; send `tool_calls` instead"),
  }),
);

const keysOf = (schema: { shape: Record<string, unknown> }) => new Set(Object.keys(schema.shape));

const TOP_LEVEL: Record<ServiceOperation, ReadonlySet<string>> = {
  completions: keysOf(CompletionRequest),
  "chat.completions": keysOf(ChatCompletionRequest),
  "images.generations": keysOf(ImageGenerationRequest),
  "images.edits": keysOf(ImageEditRequest),
  embeddings: keysOf(EmbeddingRequest),
};

const MESSAGE_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    system: new Set(["role", "content", "name"]),
    developer: new Set(["role", "content", "name"]),
    user: new Set(["role", "content", "name"]),
    assistant: new Set(["role", "content", "name", "tool_calls", "refusal"]),
    // LangChain's ToolMessage sends the tool's `name`, as OpenAI accepts.
    tool: new Set(["role", "content", "tool_call_id", "name"]),
  }),
);
const CONTENT_PART_FIELDS = new Set(["type", "text"]);
const TOOL_CALL_FIELDS = new Set(["id", "type", "function"]);
const TOOL_CALL_FUNCTION_FIELDS = new Set(["name", "arguments"]);
const STREAM_OPTIONS_FIELDS = new Set(["include_usage"]);
const TOOL_FIELDS = new Set(["type", "function"]);
const FUNCTION_FIELDS = new Set(["name", "description", "parameters", "strict"]);
const RESPONSE_FORMAT_FIELDS = new Set(["type", "json_schema"]);
const JSON_SCHEMA_FIELDS = new Set(["name", "description", "schema", "strict"]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const unsupported = (path: string, what: string): Result<never> =>
  fail("UNSUPPORTED_PARAMETER", `\`${path}\` asks for ${what}, which this gateway does not offer`, path);

function unknownField(path: string, field: string): Result<never> {
  const instead = ENGINE_OPTIONS.get(field);
  const detail =
    instead === undefined
      ? `\`${path}\` is not a field of this API`
      : `\`${path}\` is an engine option, not part of this API; use \`${instead}\``;
  return fail("UNKNOWN_PARAMETER", detail, path);
}

/** The first field of `value` outside `allowed`, as a refusal; `undefined` when all are known. */
function check(value: unknown, allowed: ReadonlySet<string>, at: string): Result<never> | undefined {
  if (!isRecord(value)) return undefined;
  for (const field of Object.keys(value)) {
    if (!allowed.has(field)) return unknownField(at === "" ? field : `${at}.${field}`, field);
  }
  return undefined;
}

function checkEach(
  list: unknown,
  at: string,
  each: (item: unknown, path: string) => Result<never> | undefined,
): Result<never> | undefined {
  if (!Array.isArray(list)) return undefined;
  for (let i = 0; i < list.length; i++) {
    const refused = each(list[i], `${at}[${i}]`);
    if (refused !== undefined) return refused;
  }
  return undefined;
}

function checkPart(part: unknown, at: string): Result<never> | undefined {
  const other =
    isRecord(part) && typeof part.type === "string" ? CONTENT_PART_NOT_OFFERED.get(part.type) : undefined;
  return other === undefined ? check(part, CONTENT_PART_FIELDS, at) : unsupported(`${at}.type`, other);
}

const REFUSAL_PART_FIELDS = new Set(["type", "refusal"]);

/**
 * An assistant turn's content with each `{ type: "refusal", refusal }` part (an earlier answer's
 * refusal, as OpenAI's API and SDK send it back) as a text part of the same words: the turn's text
 * to every engine, and to the token counts and limits. The same array when it holds none.
 */
function refusalsAsText(content: unknown[], at: string): Result<unknown[]> {
  if (!content.some((part) => isRecord(part) && part.type === "refusal")) return ok(content);
  const parts: unknown[] = [];
  for (const [i, part] of content.entries()) {
    if (!isRecord(part) || part.type !== "refusal") {
      parts.push(part);
      continue;
    }
    const path = `${at}[${i}]`;
    const unknown = check(part, REFUSAL_PART_FIELDS, path);
    if (unknown !== undefined) return unknown;
    if (typeof part.refusal !== "string")
      return fail("INVALID_REQUEST", `\`${path}.refusal\` must be a string`, `${path}.refusal`);
    parts.push(chatPartAsText({ type: "refusal", refusal: part.refusal }));
  }
  return ok(parts);
}

function checkMessage(message: unknown, at: string): Result<never> | undefined {
  if (!isRecord(message)) return undefined;
  const allowed = typeof message.role === "string" ? MESSAGE_FIELDS.get(message.role) : undefined;
  if (allowed === undefined) return undefined; // the schema names the bad role
  if (message.role === "assistant" && Array.isArray(message.content)) {
    const content = refusalsAsText(message.content, `${at}.content`);
    if (!content.ok) return content;
    message.content = content.value;
  }
  for (const [field, rule] of MESSAGE_NOT_OFFERED) {
    if (!Object.hasOwn(message, field)) continue;
    if (!rule.neutral(message[field])) return unsupported(`${at}.${field}`, rule.what);
    delete message[field];
  }
  return (
    check(message, allowed, at) ??
    checkEach(message.content, `${at}.content`, checkPart) ??
    checkEach(
      message.tool_calls,
      `${at}.tool_calls`,
      (call, path) =>
        check(call, TOOL_CALL_FIELDS, path) ??
        (isRecord(call) ? check(call.function, TOOL_CALL_FUNCTION_FIELDS, `${path}.function`) : undefined),
    )
  );
}

/** An embeddings `input` of token ids (one array of numbers, or arrays of them), as tiktoken users send. */
const isTokenInput = (input: unknown) =>
  Array.isArray(input) && input.some((item) => typeof item === "number" || Array.isArray(item));

/** Messages copied one level deep, so that fields removed from them leave the caller's body whole. */
const ownMessages = (messages: unknown) =>
  Array.isArray(messages) ? messages.map((m: unknown) => (isRecord(m) ? { ...m } : m)) : messages;

/**
 * Applies the policy to a raw body (before schema validation): a refusal for the first unknown
 * or unoffered field, else the body without the dropped fields and neutral values. Non-object
 * bodies pass through untouched (the schema refuses them with its own message).
 */
export function applyFieldPolicy(operation: ServiceOperation, raw: unknown): Result<unknown> {
  if (!isRecord(raw)) return ok(raw);
  const body: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(raw)) {
    if (DROPPED.has(field)) continue;
    const other = NOT_OFFERED[operation].get(field);
    if (other !== undefined) {
      if (other.neutral(value)) continue;
      return unsupported(field, other.what);
    }
    if (!TOP_LEVEL[operation].has(field)) return unknownField(field, field);
    body[field] = value;
  }
  if (operation === "embeddings" && isTokenInput(body.input))
    return unsupported(
      "input",
      "embeddings of token ids (each service counts tokens with its own tokenizer); send the text",
    );
  // `size: "auto"` (GPT Image's default) lets the service choose: the tier's standard size.
  if (operation.startsWith("images.") && body.size === "auto") delete body.size;
  if (body.messages !== undefined) body.messages = ownMessages(body.messages);
  const refused =
    check(body.stream_options, STREAM_OPTIONS_FIELDS, "stream_options") ??
    checkEach(body.messages, "messages", checkMessage) ??
    checkEach(
      body.tools,
      "tools",
      (tool, path) =>
        check(tool, TOOL_FIELDS, path) ??
        (isRecord(tool) ? check(tool.function, FUNCTION_FIELDS, `${path}.function`) : undefined),
    ) ??
    check(body.response_format, RESPONSE_FORMAT_FIELDS, "response_format") ??
    (isRecord(body.response_format)
      ? check(body.response_format.json_schema, JSON_SCHEMA_FIELDS, "response_format.json_schema")
      : undefined);
  return refused ?? ok(body);
}
