import { normalizeFinishReason } from "@pocket-ai/protocol";
import { type AnswerRefusal, refusal } from "./answer-refusal.js";

/**
 * The tool calls a chat answer's choice may make, by what the request offered: none when it
 * defined no `tools` (or set `tool_choice: "none"`), at most one with `parallel_tool_calls: false`.
 */
export type ToolCallLimit =
  | { readonly most: 0; readonly why: "no tools" | "tool_choice none" }
  | { readonly most: 1 };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A choice's index as a detail may name it: a safe integer, or `?`. */
const choiceLabel = (choice: Record<string, unknown>) =>
  Number.isSafeInteger(choice.index) ? String(choice.index) : "?";

const tooMany = (choice: Record<string, unknown>, count: string) =>
  refusal(
    "TOOL_CALLS",
    `choice ${choiceLabel(choice)} ${count}; the request set parallel_tool_calls: false (at most one)`,
  );

const notOffered = (choice: Record<string, unknown>, what: string, why: "no tools" | "tool_choice none") =>
  refusal(
    "TOOL_CALLS_NOT_OFFERED",
    `choice ${choiceLabel(choice)} ${what}; ${why === "no tools" ? "the request offered no tools" : 'the request set tool_choice: "none"'}`,
  );

/** Whether a message or delta calls a tool: a non-empty `tool_calls`, or a (deprecated) `function_call`. */
const callsTool = (part: Record<string, unknown>) =>
  (Array.isArray(part.tool_calls) && part.tool_calls.length > 0) ||
  (part.function_call !== undefined && part.function_call !== null);

/** Why a choice that may call no tool does, in a message or delta or by its `finish_reason`. */
function uninvited(
  choice: Record<string, unknown>,
  part: unknown,
  why: "no tools" | "tool_choice none",
): AnswerRefusal | undefined {
  if (isRecord(part) && callsTool(part)) return notOffered(choice, "makes a tool call", why);
  // Engines spell the reason their own way (`function_call`, `tool_use`): read as the client gets it.
  if (normalizeFinishReason(choice.finish_reason) === "tool_calls")
    return notOffered(choice, "ends with finish_reason tool_calls", why);
  return undefined;
}

/**
 * Why a chat answer (one its schema accepted) makes tool calls the request did not allow, or
 * `undefined`: a call (or `finish_reason: "tool_calls"`) when the request offered no tools or set
 * `tool_choice: "none"` — an engine has no tool to call then, so the call is the node's invention —
 * or more than one call in a choice's message with `parallel_tool_calls: false`, where OpenAI's API
 * calls at most one tool per assistant message and a client may act on the first call only.
 *
 * @example
 * ```ts
 * toolCallsOverLimit(answer, { most: 0, why: "no tools" }); // TOOL_CALLS_NOT_OFFERED for any call
 * ```
 */
export function toolCallsOverLimit(
  data: unknown,
  limit: ToolCallLimit | undefined,
): AnswerRefusal | undefined {
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
 * none allowed, any tool-call delta (or `finish_reason: "tool_calls"`) is refused; with one, a
 * streamed call arrives as deltas that share one `index`, so a second index within a choice is a
 * second call.
 *
 * @example
 * ```ts
 * const calls = new StreamedToolCalls({ most: 1 });
 * const lie = calls.add(chunk); // an AnswerRefusal once a choice opens a second tool call
 * ```
 */
export class StreamedToolCalls {
  /** Per choice index, the index of the one tool call it opened. */
  readonly #opened = new Map<unknown, unknown>();

  constructor(readonly limit: ToolCallLimit) {}

  /** Adds a chunk's tool-call deltas (a chunk its schema accepted); why it goes past the limit, or `undefined`. */
  add(chunk: unknown): AnswerRefusal | undefined {
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
