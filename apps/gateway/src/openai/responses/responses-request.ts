import { type ErrorCode, fail, ok, type Result } from "@pocket-ai/protocol";

/**
 * What `/v1/responses` takes, and how it becomes a `/v1/chat/completions` body for the ordinary
 * chat relay path (same field policy, limits, budget, pricing, capability routing, signing and
 * settlement).
 *
 * Every field is one of four kinds: mapped onto chat (`model`, `input`, `instructions`,
 * `max_output_tokens`, `temperature`, `top_p`, `stream`, function `tools`, `tool_choice`,
 * `parallel_tool_calls`, `text.format` json_object / json_schema); accepted because it asks for
 * nothing the gateway would not do anyway (`store`, see below; `metadata` (within OpenAI's limits) and
 * `user`, echoed back and never kept or relayed; `safety_identifier`, `prompt_cache_key`, `prompt_cache_retention`,
 * checked and dropped; an empty `include` or `reasoning: null`); refused with a stable code because it needs stored state
 * (`RESPONSE_NOT_STORED`) or a feature not offered here (`UNSUPPORTED_RESPONSES_FEATURE`); anything
 * else is `UNKNOWN_PARAMETER`. A mapped feature reaches only nodes that support it, and is
 * `NO_CAPABLE_NODE` (naming the Responses field) when none does.
 *
 * `store` takes either value. A unary answer's message item id carries its text, sealed
 * (`sealed-items.ts`), so an `item_reference` to it is resolved from the id alone. A streamed
 * answer's item id is sent before its text exists: unless `store` is `false`, the text is kept
 * once the stream completes, encrypted with a key only the id holds, in memory and for a limited
 * time (`streamed-items.ts`); with `store: false` nothing at all is kept (the client sends the
 * text itself, as the Vercel AI SDK does then).
 */

/** What the answer echoes back of the request (OpenAI's response object repeats these). */
export interface ResponsesEcho {
  readonly instructions: string | null;
  readonly maxOutputTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
  readonly metadata: Record<string, string>;
  readonly user: string | null;
  readonly tools: readonly unknown[];
  readonly toolChoice: unknown;
  readonly parallelToolCalls: boolean;
  readonly textFormat: unknown;
  /** False when the request said `store: false`: a streamed item's text is then not kept either. */
  readonly store: boolean;
}

export interface TranslatedResponsesRequest {
  /** The `/v1/chat/completions` body, validated again by the chat path. */
  readonly chat: Record<string, unknown>;
  readonly stream: boolean;
  readonly echo: ResponsesEcho;
  /**
   * Where each chat message came from, for naming a refused chat field in the request's own terms
   * (see {@link inputParamName}).
   */
  readonly origins: MessageOrigins;
}

/**
 * Per chat message, in order, the request field it was made from: `instructions`, `input` (a
 * string input) or `input[i]`; and for an assistant turn's tool calls, the `input[i]` of each
 * `function_call` item, in call order (one chat turn gathers the calls of consecutive items).
 */
export type MessageOrigins = readonly { readonly from: string; readonly calls: readonly string[] }[];

/** Reads the text an `item_reference` id names (`MessageItemSeal.open`, or a streamed item's, for the caller). */
export type ItemReferenceReader = (id: string, param: string) => Result<string>;

interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}
type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

/** Chat Completions fields clients send to the Responses API by habit, and their Responses names. */
const CHAT_NAMES: ReadonlyMap<string, string> = new Map([
  ["messages", "input"],
  ["max_tokens", "max_output_tokens"],
  ["max_completion_tokens", "max_output_tokens"],
  ["response_format", "text.format"],
]);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Fields that need a response the gateway kept: it keeps none. */
const NEEDS_STORAGE = new Set(["previous_response_id", "conversation"]);

/** Fields of features not offered here, refused when they ask for anything. */
const FEATURES = new Set([
  "max_tool_calls",
  "reasoning",
  "background",
  "include",
  "truncation",
  "top_logprobs",
  "prompt",
  "service_tier",
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
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "text",
]);

/** Values of the feature fields that ask for nothing (the defaults clients send explicitly). */
function asksForNothing(field: string, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  switch (field) {
    case "include":
      return Array.isArray(value) && value.length === 0;
    case "background":
      return value === false;
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

/** A string, or the text of a list of content parts. */
function contentText(content: unknown, param: string): Result<string> {
  if (typeof content === "string") return ok(content);
  if (!Array.isArray(content)) {
    return refuse("INVALID_REQUEST", "content must be a string or an array of parts", param);
  }
  const texts: string[] = [];
  for (const [i, part] of content.entries()) {
    const text = partText(part, `${param}[${i}]`);
    if (!text.ok) return text;
    texts.push(text.value);
  }
  return ok(texts.join(""));
}

// Maps, not objects: a client's `toString` or `__proto__` is no role and no item type.
const ROLES: ReadonlyMap<string, "system" | "user" | "assistant"> = new Map([
  ["system", "system"],
  ["developer", "system"],
  ["user", "user"],
  ["assistant", "assistant"],
]);
const ITEM_FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ["message", new Set(["type", "role", "content", "id", "status", "phase"])],
  ["item_reference", new Set(["type", "id"])],
  ["function_call", new Set(["type", "id", "call_id", "name", "arguments", "status"])],
  ["function_call_output", new Set(["type", "id", "call_id", "output", "status"])],
]);

const stringField = (item: Record<string, unknown>, field: string, param: string): Result<string> =>
  typeof item[field] === "string" && item[field] !== ""
    ? ok(item[field] as string)
    : refuse("INVALID_REQUEST", `${field} must be a non-empty string`, `${param}.${field}`);

/**
 * Appends one `input` item to the chat conversation, or says why it is refused. Function calls
 * join the assistant turn before them (chat keeps a turn's text and its tool calls together);
 * an `item_reference` becomes the assistant message its id carries. `calls` holds each `call_id`
 * of the `function_call` items so far and whether its latest call was answered: a
 * `function_call_output` answers one of them, once, as OpenAI's API requires (the gateway keeps no
 * earlier response, so the calls a conversation answers are those its input carries).
 */
function appendItem(
  messages: ChatMessage[],
  item: unknown,
  param: string,
  readReference: ItemReferenceReader,
  calls: Map<string, boolean>,
): Result<void> {
  if (!isRecord(item)) return refuse("INVALID_REQUEST", "an input item must be an object", param);
  const type = typeof item.type === "string" ? item.type : item.type === undefined ? "message" : "";
  const allowed = ITEM_FIELDS.get(type);
  if (allowed === undefined) {
    return refuse(
      "UNSUPPORTED_RESPONSES_FEATURE",
      `${JSON.stringify(item.type)} items are not offered`,
      `${param}.type`,
    );
  }
  const extra = Object.keys(item).find((k) => !allowed.has(k));
  if (extra !== undefined)
    return refuse("UNKNOWN_PARAMETER", `${param} has no field ${extra}`, `${param}.${extra}`);
  switch (type) {
    case "item_reference": {
      if (typeof item.id !== "string") return refuse("INVALID_REQUEST", "id must be a string", `${param}.id`);
      const text = readReference(item.id, `${param}.id`);
      if (!text.ok) return text;
      messages.push({ role: "assistant", content: text.value });
      return ok(undefined);
    }
    case "function_call": {
      const callId = stringField(item, "call_id", param);
      if (!callId.ok) return callId;
      const name = stringField(item, "name", param);
      if (!name.ok) return name;
      if (typeof item.arguments !== "string")
        return refuse("INVALID_REQUEST", "arguments must be a string", `${param}.arguments`);
      const last = messages.at(-1);
      if (last?.role === "assistant" && last.tool_calls?.some((c) => c.id === callId.value))
        return refuse(
          "INVALID_REQUEST",
          "two function_call items of one turn have the same call_id: send each call with the call_id it was made with",
          `${param}.call_id`,
        );
      calls.set(callId.value, false);
      const call: ChatToolCall = {
        id: callId.value,
        type: "function",
        function: { name: name.value, arguments: item.arguments },
      };
      if (last?.role === "assistant") last.tool_calls = [...(last.tool_calls ?? []), call];
      else messages.push({ role: "assistant", content: null, tool_calls: [call] });
      return ok(undefined);
    }
    case "function_call_output": {
      const callId = stringField(item, "call_id", param);
      if (!callId.ok) return callId;
      const answered = calls.get(callId.value);
      if (answered === undefined)
        return refuse(
          "INVALID_REQUEST",
          "this function_call_output answers no function_call before it in input: send the function_call item (with the same call_id) before its output",
          `${param}.call_id`,
        );
      if (answered)
        return refuse(
          "INVALID_REQUEST",
          "this call is already answered by an earlier function_call_output: send one output per call",
          `${param}.call_id`,
        );
      calls.set(callId.value, true);
      const output = contentText(item.output, `${param}.output`);
      if (!output.ok) return output;
      messages.push({ role: "tool", tool_call_id: callId.value, content: output.value });
      return ok(undefined);
    }
    default: {
      const role = typeof item.role === "string" ? ROLES.get(item.role) : undefined;
      if (role === undefined) {
        return refuse(
          "INVALID_REQUEST",
          "role must be user, assistant, system or developer",
          `${param}.role`,
        );
      }
      const content = contentText(item.content, `${param}.content`);
      if (!content.ok) return content;
      messages.push({ role, content: content.value });
      return ok(undefined);
    }
  }
}

/**
 * The first function call of the latest turn that no `function_call_output` answers, as a refusal:
 * OpenAI's API answers such an input 400, and the chat history it would become is one no engine
 * takes (each call's result follows its assistant turn, before any other message).
 */
function unansweredCall(pending: ReadonlyMap<string, string>): Result<never> | undefined {
  for (const param of pending.values())
    return refuse(
      "INVALID_REQUEST",
      "this function_call has no function_call_output: send one (with the same call_id) for each function_call, after the calls of its turn and before any other message or later call",
      param,
    );
  return undefined;
}

/** OpenAI's limits on `metadata`, which every response event echoes: pairs, key and value characters. */
const METADATA_LIMITS = { pairs: 16, keyChars: 64, valueChars: 512 } as const;

function metadataOverLimits(metadata: Record<string, string>): string | undefined {
  const entries = Object.entries(metadata);
  if (entries.length > METADATA_LIMITS.pairs)
    return `metadata holds ${entries.length} pairs; at most ${METADATA_LIMITS.pairs} are taken`;
  for (const [key, value] of entries) {
    if (key.length > METADATA_LIMITS.keyChars)
      return `a metadata key is longer than ${METADATA_LIMITS.keyChars} characters`;
    if (value.length > METADATA_LIMITS.valueChars)
      return `metadata ${JSON.stringify(key)} is longer than ${METADATA_LIMITS.valueChars} characters`;
  }
  return undefined;
}

function numberOrNull(body: Record<string, unknown>, field: string): Result<number | null> {
  const value = body[field];
  if (value === undefined || value === null) return ok(null);
  if (typeof value !== "number") return refuse("INVALID_REQUEST", `${field} must be a number`, field);
  return ok(value);
}

const FUNCTION_TOOL_FIELDS = new Set(["type", "name", "description", "parameters", "strict"]);

/** Responses function tools as chat tools (the same fields, one level down). */
function chatTools(value: unknown): Result<Record<string, unknown>[]> {
  if (value === undefined || value === null) return ok([]);
  if (!Array.isArray(value)) return refuse("INVALID_REQUEST", "tools must be a list", "tools");
  const tools: Record<string, unknown>[] = [];
  for (const [i, tool] of value.entries()) {
    const param = `tools[${i}]`;
    if (!isRecord(tool)) return refuse("INVALID_REQUEST", "a tool must be an object", param);
    if (tool.type !== "function") {
      return refuse(
        "UNSUPPORTED_RESPONSES_FEATURE",
        `${JSON.stringify(tool.type)} tools are not offered; define function tools`,
        `${param}.type`,
      );
    }
    const extra = Object.keys(tool).find((k) => !FUNCTION_TOOL_FIELDS.has(k));
    if (extra !== undefined)
      return refuse("UNKNOWN_PARAMETER", `a function tool has no field ${extra}`, `${param}.${extra}`);
    const name = stringField(tool, "name", param);
    if (!name.ok) return name;
    const fn: Record<string, unknown> = { name: name.value };
    for (const field of ["description", "parameters", "strict"] as const) {
      if (tool[field] !== undefined && tool[field] !== null) fn[field] = tool[field];
    }
    tools.push({ type: "function", function: fn });
  }
  return ok(tools);
}

/**
 * A Responses `tool_choice` as chat's. `"required"` or a named function needs `tools`, and the
 * named one among them, as OpenAI's API requires: an engine would fail, or make a call up.
 */
function chatToolChoice(value: unknown, tools: readonly Record<string, unknown>[]): Result<unknown> {
  if (value === undefined || value === null) return ok(undefined);
  if (value === "none" || value === "auto") return ok(value);
  const forced = value === "required" || (isRecord(value) && value.type === "function");
  if (forced && tools.length === 0)
    return refuse(
      "INVALID_REQUEST",
      "tool_choice asks for a function call but the request defines no tools: send the functions in tools, or leave tool_choice out",
      "tool_choice",
    );
  if (value === "required") return ok(value);
  if (isRecord(value) && value.type === "function" && typeof value.name === "string") {
    const names = tools.map((tool) => (tool.function as { name: string }).name);
    if (!names.includes(value.name))
      return refuse(
        "INVALID_REQUEST",
        "tool_choice names a function that is not in tools: name one of the functions the request defines",
        "tool_choice.name",
      );
    return ok({ type: "function", function: { name: value.name } });
  }
  return refuse(
    "UNSUPPORTED_RESPONSES_FEATURE",
    "tool_choice takes none, auto, required or { type: function, name }",
    "tool_choice",
  );
}

const JSON_SCHEMA_FORMAT_FIELDS = new Set(["type", "name", "description", "schema", "strict"]);

/** `text.format` as chat's `response_format` (`undefined` for plain text). */
function chatResponseFormat(text: unknown): Result<Record<string, unknown> | undefined> {
  if (text === undefined || text === null) return ok(undefined);
  if (!isRecord(text)) return refuse("INVALID_REQUEST", "text must be an object", "text");
  for (const field of Object.keys(text)) {
    if (field === "verbosity" && (text.verbosity === null || text.verbosity === undefined)) continue;
    if (field === "verbosity")
      return refuse("UNSUPPORTED_RESPONSES_FEATURE", "text.verbosity is not offered", "text.verbosity");
    if (field !== "format") return refuse("UNKNOWN_PARAMETER", `text has no field ${field}`, `text.${field}`);
  }
  const format = text.format;
  if (format === undefined || format === null) return ok(undefined);
  if (!isRecord(format)) return refuse("INVALID_REQUEST", "text.format must be an object", "text.format");
  if (format.type === "text") return ok(undefined);
  if (format.type === "json_object") return ok({ type: "json_object" });
  if (format.type !== "json_schema") {
    return refuse(
      "INVALID_REQUEST",
      "text.format.type must be text, json_object or json_schema",
      "text.format.type",
    );
  }
  const extra = Object.keys(format).find((k) => !JSON_SCHEMA_FORMAT_FIELDS.has(k));
  if (extra !== undefined)
    return refuse("UNKNOWN_PARAMETER", `text.format has no field ${extra}`, `text.format.${extra}`);
  const name = stringField(format, "name", "text.format");
  if (!name.ok) return name;
  if (!isRecord(format.schema))
    return refuse("INVALID_REQUEST", "schema must be a JSON schema object", "text.format.schema");
  const jsonSchema: Record<string, unknown> = { name: name.value, schema: format.schema };
  if (typeof format.description === "string") jsonSchema.description = format.description;
  if (typeof format.strict === "boolean") jsonSchema.strict = format.strict;
  return ok({ type: "json_schema", json_schema: jsonSchema });
}

/**
 * A `/v1/responses` body as a chat body. `instructions` comes first as a system message; `input`
 * is a string (one user message) or a list of items (the whole conversation: messages, references
 * to earlier message items, function calls and their outputs). Streams always ask the node for
 * the usage chunk, which `response.completed` reports.
 */
export function translateResponsesRequest(
  raw: unknown,
  readReference: ItemReferenceReader,
): Result<TranslatedResponsesRequest> {
  if (!isRecord(raw)) return fail("INVALID_REQUEST", "the body must be a JSON object");
  for (const field of Object.keys(raw)) {
    const value = raw[field];
    if (NEEDS_STORAGE.has(field) && value !== null && value !== undefined) {
      return refuse(
        "RESPONSE_NOT_STORED",
        `${field} refers to stored state and the gateway keeps no responses: send the earlier turns in input (an item_reference to a message item id this gateway answered with works)`,
        field,
      );
    }
    if (FEATURES.has(field) && !asksForNothing(field, value)) {
      return refuse("UNSUPPORTED_RESPONSES_FEATURE", `${field} is not offered`, field);
    }
    if (!NEEDS_STORAGE.has(field) && !FEATURES.has(field) && !MAPPED.has(field)) {
      const instead = CHAT_NAMES.get(field);
      return refuse(
        "UNKNOWN_PARAMETER",
        `the Responses API has no field ${field}${instead === undefined ? "" : `: use ${instead}`}`,
        field,
      );
    }
  }
  if (raw.store !== undefined && raw.store !== null && typeof raw.store !== "boolean") {
    return refuse("INVALID_REQUEST", "store must be a boolean", "store");
  }

  const messages: ChatMessage[] = [];
  const origins: { from: string; calls: string[] }[] = [];
  const instructions = raw.instructions ?? null;
  if (instructions !== null && typeof instructions !== "string") {
    return refuse("INVALID_REQUEST", "instructions must be a string", "instructions");
  }
  if (instructions !== null) {
    messages.push({ role: "system", content: instructions });
    origins.push({ from: "instructions", calls: [] });
  }
  if (typeof raw.input === "string") {
    messages.push({ role: "user", content: raw.input });
    origins.push({ from: "input", calls: [] });
  } else if (Array.isArray(raw.input)) {
    const calls = new Map<string, boolean>();
    /** The latest turn's function calls not answered yet: call_id to its item's `call_id` param. */
    const pending = new Map<string, string>();
    for (const [i, item] of raw.input.entries()) {
      const before = messages.length;
      const callsBefore = toolCallCount(messages.at(-1));
      const added = appendItem(messages, item, `input[${i}]`, readReference, calls);
      if (!added.ok) return added;
      const opened = messages.length > before;
      if (opened) origins.push({ from: `input[${i}]`, calls: [] });
      // A function call joins the assistant turn before it, or opens one.
      if (toolCallCount(messages.at(-1)) > (opened ? 0 : callsBefore))
        origins.at(-1)?.calls.push(`input[${i}]`);
      // A new message other than a tool result ends the turn of the calls before it.
      if (messages.length > before && messages.at(-1)?.role !== "tool") {
        const open = unansweredCall(pending);
        if (open !== undefined) return open;
      }
      if (!isRecord(item) || typeof item.call_id !== "string") continue;
      if (item.type === "function_call") pending.set(item.call_id, `input[${i}].call_id`);
      else pending.delete(item.call_id);
    }
    const open = unansweredCall(pending);
    if (open !== undefined) return open;
  } else return refuse("INVALID_REQUEST", "input must be a string or a list of input items", "input");
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
  const metadataRefusal = metadataOverLimits(metadata as Record<string, string>);
  if (metadataRefusal !== undefined) return refuse("INVALID_REQUEST", metadataRefusal, "metadata");
  const user = raw.user ?? null;
  if (user !== null && typeof user !== "string")
    return refuse("INVALID_REQUEST", "user must be a string", "user");
  // OpenAI's own hints (who the end user is, how to cache the prompt): checked, never relayed.
  for (const hint of ["safety_identifier", "prompt_cache_key", "prompt_cache_retention"]) {
    const value = raw[hint];
    if (value !== undefined && value !== null && typeof value !== "string")
      return refuse("INVALID_REQUEST", `${hint} must be a string`, hint);
  }
  if (raw.stream !== undefined && raw.stream !== null && typeof raw.stream !== "boolean") {
    return refuse("INVALID_REQUEST", "stream must be a boolean", "stream");
  }
  const stream = raw.stream === true;
  const tools = chatTools(raw.tools);
  if (!tools.ok) return tools;
  const toolChoice = chatToolChoice(raw.tool_choice, tools.value);
  if (!toolChoice.ok) return toolChoice;
  const parallel = raw.parallel_tool_calls ?? null;
  if (parallel !== null && typeof parallel !== "boolean") {
    return refuse("INVALID_REQUEST", "parallel_tool_calls must be a boolean", "parallel_tool_calls");
  }
  const responseFormat = chatResponseFormat(raw.text);
  if (!responseFormat.ok) return responseFormat;

  const chat: Record<string, unknown> = { model: raw.model, messages };
  if (maxOutputTokens.value !== null) chat.max_tokens = maxOutputTokens.value;
  if (temperature.value !== null) chat.temperature = temperature.value;
  if (topP.value !== null) chat.top_p = topP.value;
  if (tools.value.length > 0) {
    chat.tools = tools.value;
    if (parallel !== null) chat.parallel_tool_calls = parallel;
  }
  // "auto" and "none" without tools ask for nothing (a forced choice without tools is refused above).
  if (toolChoice.value !== undefined && tools.value.length > 0) chat.tool_choice = toolChoice.value;
  if (responseFormat.value !== undefined) chat.response_format = responseFormat.value;
  if (stream) {
    chat.stream = true;
    chat.stream_options = { include_usage: true };
  }
  return ok({
    chat,
    stream,
    origins,
    echo: {
      instructions,
      maxOutputTokens: maxOutputTokens.value,
      temperature: temperature.value,
      topP: topP.value,
      metadata: metadata as Record<string, string>,
      user,
      tools: Array.isArray(raw.tools) ? raw.tools : [],
      toolChoice: raw.tool_choice ?? "auto",
      parallelToolCalls: parallel ?? true,
      textFormat: isRecord(raw.text) && isRecord(raw.text.format) ? raw.text.format : { type: "text" },
      store: raw.store !== false,
    },
  });
}

const toolCallCount = (message: ChatMessage | undefined): number =>
  message?.role === "assistant" ? (message.tool_calls?.length ?? 0) : 0;

/** The Responses names of a chat tool call's fields (`function.name` is a `function_call`'s `name`). */
const CALL_FIELDS: ReadonlyMap<string, string> = new Map([
  ["id", "call_id"],
  ["function.name", "name"],
  ["function.arguments", "arguments"],
]);

/**
 * A refused chat message field (`messages[i]…`, as the chat checks name it) as the field of the
 * request it was made from: `messages[2].content` is `input[1].content` when `instructions` came
 * first, a call of a turn gathered from several `function_call` items is the item that made it
 * (`messages[1].tool_calls[1].id` is `input[3].call_id`), a tool result's `tool_call_id` is its
 * item's `call_id`. `undefined` for any other param, or an index the conversation does not have.
 */
export function inputParamName(origins: MessageOrigins, param: string): string | undefined {
  const message = /^messages\[(\d+)\](.*)$/.exec(param);
  if (message === null) return undefined;
  const origin = origins[Number(message[1])];
  if (origin === undefined) return undefined;
  const rest = message[2] ?? "";
  const call = /^\.tool_calls\[(\d+)\](?:\.(.*))?$/.exec(rest);
  if (call !== null) {
    const from = origin.calls[Number(call[1])];
    if (from === undefined) return undefined;
    const field = call[2];
    return field === undefined ? from : `${from}.${CALL_FIELDS.get(field) ?? field}`;
  }
  if (origin.from === "instructions" || origin.from === "input") return origin.from;
  return rest === ".tool_call_id" ? `${origin.from}.call_id` : origin.from + rest;
}
