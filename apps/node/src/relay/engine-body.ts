import {
  type ChatRefusalPart,
  type ChatTextPart,
  chatPartAsText,
  type OpenAIRequestOf,
  type RelayOperation,
} from "@pocket-ai/protocol";

/**
 * Engine calls are built, not forwarded: the body a backend receives holds only fields of the
 * protocol's request schemas, taken from the validated request and rebuilt field by field (nested
 * messages, tool calls, tools and response formats too). Whatever else a relay's payload carries —
 * engine-specific knobs such as `n_predict`, `num_predict`, `max_new_tokens`, `min_tokens`,
 * `best_of`, or any field a gateway let through — never reaches an engine, so no field can buy
 * more work than the tier's limits allow. Each adapter then keeps only what its engine takes
 * (`ENGINE_EXTRAS`).
 *
 * Dropped on purpose although the schemas know them: `best_of` (n× the work for one answer),
 * `max_completion_tokens` (admission folds it into the clamped `max_tokens`), `user` (an end
 * user's id is none of the engine's business), `stream` and `stream_options` (set by the adapter).
 */
const SAMPLING = [
  "model",
  "max_tokens",
  "temperature",
  "top_p",
  "n",
  "stop",
  "seed",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "top_k",
  "ignore_eos",
] as const;

const COMPLETION = [...SAMPLING, "prompt", "logprobs", "echo", "suffix"] as const;
const CHAT = [...SAMPLING, "logprobs", "top_logprobs", "tool_choice", "parallel_tool_calls"] as const;
const IMAGE = [
  "model",
  "prompt",
  "n",
  "size",
  "response_format",
  "negative_prompt",
  "seed",
  "steps",
  "cfg_scale",
  "sampler",
] as const;
const IMAGE_EDIT = [...IMAGE, "image", "mask", "strength", "padding"] as const;

/** Fields only some engines take: every other engine gets the body without them. */
export const ENGINE_EXTRAS: readonly string[] = ["top_k", "ignore_eos"];

type Json = Record<string, unknown>;
const isRecord = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The listed fields that are present and not null. */
function pick(source: Json, keys: readonly string[]): Json {
  const out: Json = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** Text parts as they are, an assistant's refusal parts as text of the turn (parts are validated). */
const content = (value: unknown): unknown =>
  Array.isArray(value) ? value.map((part) => chatPartAsText(part as ChatTextPart | ChatRefusalPart)) : value;

const toolCall = (call: Json): Json => ({
  id: call.id,
  type: "function",
  function: pick(isRecord(call.function) ? call.function : {}, ["name", "arguments"]),
});

function message(raw: Json): Json {
  const out = pick(raw, ["role", "name", "tool_call_id", "refusal"]);
  if (raw.content !== undefined) out.content = content(raw.content);
  if (Array.isArray(raw.tool_calls)) out.tool_calls = (raw.tool_calls as Json[]).map(toolCall);
  return out;
}

function tool(raw: Json): Json {
  const fn = isRecord(raw.function) ? raw.function : {};
  return { type: raw.type, function: pick(fn, ["name", "description", "parameters", "strict"]) };
}

function responseFormat(raw: Json): Json {
  const out: Json = { type: raw.type };
  if (isRecord(raw.json_schema))
    out.json_schema = pick(raw.json_schema, ["name", "description", "schema", "strict"]);
  return out;
}

/**
 * Sampling as every engine takes it: `top_p: 0` (OpenAI's range is 0 to 1; 0 keeps only the most
 * probable token) is greedy decoding, which engines that refuse a `top_p` of 0 (vLLM takes
 * (0, 1]) all take as `temperature: 0`.
 */
function sampling(out: Json): Json {
  if (out.top_p === 0) {
    delete out.top_p;
    out.temperature = 0;
  }
  return out;
}

/**
 * The engine body of a validated request: its schema's fields only, rebuilt, with `max_tokens` set
 * to the clamped value for text calls.
 *
 * @example
 * engineBody("completions", { model: "m", prompt: "Hi", n_predict: 9999 } as never, 16);
 * // { model: "m", prompt: "Hi", max_tokens: 16 }
 */
export function engineBody(
  operation: RelayOperation,
  request: OpenAIRequestOf<RelayOperation>,
  maxTokens?: number,
): Json {
  const source = request as unknown as Json;
  switch (operation) {
    case "completions": {
      const out = sampling(pick(source, COMPLETION));
      // An empty suffix is OpenAI's default, no fill-in-the-middle: llama.cpp server refuses the field.
      if (out.suffix === "") delete out.suffix;
      return { ...out, max_tokens: maxTokens };
    }
    case "chat.completions": {
      const out = sampling(pick(source, CHAT));
      out.messages = (source.messages as Json[]).map(message);
      if (Array.isArray(source.tools)) out.tools = (source.tools as Json[]).map(tool);
      if (isRecord(source.response_format)) out.response_format = responseFormat(source.response_format);
      if (isRecord(source.tool_choice))
        out.tool_choice = { type: source.tool_choice.type, ...pick(source.tool_choice, ["function"]) };
      out.max_tokens = maxTokens;
      return out;
    }
    case "images.generations":
      return pick(source, IMAGE);
    case "images.edits":
      return pick(source, IMAGE_EDIT);
  }
  return {};
}
