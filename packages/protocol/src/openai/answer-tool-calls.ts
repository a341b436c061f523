import { normalizeFinishReason } from "./finish-reason.js";

/**
 * The tool calls a chat answer's choice may make, by what the request offered: none when it
 * defined no `tools` (or set `tool_choice: "none"`), at most one with `parallel_tool_calls: false`.
 *
 * @example
 * ```ts
 * const limit: ToolCallLimit = { most: 0, why: "no tools" };
 * ```
 */
export type ToolCallLimit =
  | { readonly most: 0; readonly why: "no tools" | "tool_choice none" }
  | { readonly most: 1 };

/**
 * Why an answer or chunk breaks its {@link ToolCallLimit}: `TOOL_CALLS_NOT_OFFERED` (a call, or
 * `finish_reason: "tool_calls"`, where none may be made) or `TOOL_CALLS` (a second call where one
 * may be), with a detail in the checker's own words (choice indexes, counts, field names: never
 * text of the answer). A gateway refuses such an answer under this reason; a node refuses its
 * engine's before signing it.
 *
 * @example
 * ```ts
 * const over: ToolCallsOverLimit = { reason: "TOOL_CALLS_NOT_OFFERED", detail: "choice 0 makes a tool call; the request offered no tools" };
 * ```
 */
export interface ToolCallsOverLimit {
  readonly reason: "TOOL_CALLS" | "TOOL_CALLS_NOT_OFFERED";
  readonly detail: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The tool calls a chat request allows each choice of its answer (the body as the gateway passed
 * it to the node, which drops `tools: []` and a `tool_choice` of `"none"` or `"auto"` without
 * tools). `tool_choice: "none"` is held only against a node that declares it obeys `tool_choice`
 * (`forcedToolChoice`): Ollama takes tools but ignores the field, and may honestly call one.
 * `undefined`: any number of calls.
 *
 * @example
 * ```ts
 * toolCallLimit({ messages: [] }, true); // { most: 0, why: "no tools" }
 * toolCallLimit({ tools: [tool], parallel_tool_calls: false }, true); // { most: 1 }
 * ```
 */
export function toolCallLimit(
  body: Record<string, unknown>,
  obeysToolChoice: boolean,
): ToolCallLimit | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return { most: 0, why: "no tools" };
  if (body.tool_choice === "none" && obeysToolChoice) return { most: 0, why: "tool_choice none" };
  return body.parallel_tool_calls === false ? { most: 1 } : undefined;
}

/** A choice's index as a detail may name it: a safe integer, or `?`. */
const choiceLabel = (choice: Record<string, unknown>) =>
  Number.isSafeInteger(choice.index) ? String(choice.index) : "?";

const tooMany = (choice: Record<string, unknown>, count: string): ToolCallsOverLimit => ({
  reason: "TOOL_CALLS",
  detail: `choice ${choiceLabel(choice)} ${count}; the request set parallel_tool_calls: false (at most one)`,
});

const notOffered = (
  choice: Record<string, unknown>,
  what: string,
  why: "no tools" | "tool_choice none",
): ToolCallsOverLimit => ({
  reason: "TOOL_CALLS_NOT_OFFERED",
  detail: `choice ${choiceLabel(choice)} ${what}; ${why === "no tools" ? "the request offered no tools" : 'the request set tool_choice: "none"'}`,
});

/** Whether a message or delta calls a tool: a non-empty `tool_calls`, or a (deprecated) `function_call`. */
const callsTool = (part: Record<string, unknown>) =>
  (Array.isArray(part.tool_calls) && part.tool_calls.length > 0) ||
  (part.function_call !== undefined && part.function_call !== null);

/** Why a choice that may call no tool does, in a message or delta or by its `finish_reason`. */
function uninvited(
  choice: Record<string, unknown>,
  part: unknown,
  why: "no tools" | "tool_choice none",
): ToolCallsOverLimit | undefined {
  if (isRecord(part) && callsTool(part)) return notOffered(choice, "makes a tool call", why);
  // Engines spell the reason their own way (`function_call`, `tool_use`): read as the client gets it.
  if (normalizeFinishReason(choice.finish_reason) === "tool_calls")
    return notOffered(choice, "ends with finish_reason tool_calls", why);
  return undefined;
}

/**
 * Why a chat answer makes tool calls the request did not allow, or `undefined`: a call (or
 * `finish_reason: "tool_calls"`) when the request offered no tools or set `tool_choice: "none"` —
 * an engine has no tool to call then — or more than one call in a choice's message with
 * `parallel_tool_calls: false`, where OpenAI's API calls at most one tool per assistant message
 * and a client may act on the first call only.
 *
 * @example
 * ```ts
 * toolCallsOverLimit(answer, { most: 0, why: "no tools" }); // TOOL_CALLS_NOT_OFFERED for any call
 * ```
 */
export function toolCallsOverLimit(
  data: unknown,
  limit: ToolCallLimit | undefined,
): ToolCallsOverLimit | undefined {
  if (limit === undefined || !isRecord(data) || !Array.isArray(data.choices)) return undefined;
  for (const choice of data.choices) {
    if (!isRecord(choice)) continue;
    if (limit.most === 0) {
      const wrong = uninvited(choice, choice.message, limit.why);
      if (wrong !== undefined) return wrong;
      continue;
    }
    const calls = isRecord(choice.message) ? choice.message.tool_calls : undefined;
    if (Array.isArray(calls) && calls.length > 1) return tooMany(choice, `makes ${calls.length} tool calls`);
  }
  return undefined;
}

/**
 * The tool calls a stream's choices opened so far, held to the request's {@link ToolCallLimit}: with
 * none allowed, any tool-call delta (or `finish_reason: "tool_calls"`) is over it; with one, a
 * streamed call arrives as deltas that share one `index`, so a second index within a choice is a
 * second call. A few property reads per chunk: no parsing, no copy.
 *
 * @example
 * ```ts
 * const calls = new StreamedToolCalls({ most: 1 });
 * const over = calls.add(chunk); // a ToolCallsOverLimit once a choice opens a second tool call
 * ```
 */
export class StreamedToolCalls {
  /** Per choice index, the index of the one tool call it opened. */
  readonly #opened = new Map<unknown, unknown>();

  constructor(readonly limit: ToolCallLimit) {}

  /** Adds a chunk's tool-call deltas; why it goes past the limit, or `undefined`. */
  add(chunk: unknown): ToolCallsOverLimit | undefined {
    if (!isRecord(chunk) || !Array.isArray(chunk.choices)) return undefined;
    for (const choice of chunk.choices) {
      if (!isRecord(choice)) continue;
      if (this.limit.most === 0) {
        const wrong = uninvited(choice, choice.delta, this.limit.why);
        if (wrong !== undefined) return wrong;
        continue;
      }
      if (!isRecord(choice.delta) || !Array.isArray(choice.delta.tool_calls)) continue;
      for (const call of choice.delta.tool_calls) {
        const index = isRecord(call) ? call.index : undefined;
        if (!this.#opened.has(choice.index)) this.#opened.set(choice.index, index);
        else if (this.#opened.get(choice.index) !== index)
          return tooMany(choice, "streams a second tool call");
      }
    }
    return undefined;
  }
}
