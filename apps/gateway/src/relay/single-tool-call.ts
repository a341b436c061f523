import { type AnswerRefusal, refusal } from "./answer-refusal.js";

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

/**
 * Why a chat answer (one its schema accepted) holds more than one tool call in a choice's message
 * when the request set `parallel_tool_calls: false`, or `undefined`: OpenAI's API then calls at
 * most one tool per assistant message, and a client may act on the first call only.
 */
export function toolCallsOverOne(data: unknown): AnswerRefusal | undefined {
  if (!isRecord(data) || !Array.isArray(data.choices)) return undefined;
  for (const choice of data.choices) {
    if (!isRecord(choice) || !isRecord(choice.message)) continue;
    const calls = choice.message.tool_calls;
    if (Array.isArray(calls) && calls.length > 1) return tooMany(choice, `makes ${calls.length} tool calls`);
  }
  return undefined;
}

/**
 * The tool calls a stream's choices opened so far, for a request with `parallel_tool_calls:
 * false`: a streamed tool call arrives as deltas that share one `index`, so a second index within
 * a choice is a second call.
 *
 * @example
 * ```ts
 * const calls = new StreamedToolCalls();
 * const lie = calls.add(chunk); // an AnswerRefusal once a choice opens a second tool call
 * ```
 */
export class StreamedToolCalls {
  /** Per choice index, the index of the one tool call it opened. */
  readonly #opened = new Map<unknown, unknown>();

  /** Adds a chunk's tool-call deltas (a chunk its schema accepted); why it opens a second call, or `undefined`. */
  add(chunk: unknown): AnswerRefusal | undefined {
    if (!isRecord(chunk) || !Array.isArray(chunk.choices)) return undefined;
    for (const choice of chunk.choices) {
      if (!isRecord(choice) || !isRecord(choice.delta) || !Array.isArray(choice.delta.tool_calls)) continue;
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
