import { randomBytes } from "node:crypto";
import { type ErrorCode, protocolError, toOpenAIError } from "@pocket-ai/protocol";
import type { AnswerPresenter } from "../answer-presenter.js";
import type { ResponsesEcho } from "./responses-request.js";

interface ChatUsage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
}

type Status = "in_progress" | "completed" | "incomplete" | "failed";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const newId = (prefix: string) => `${prefix}_${randomBytes(16).toString("hex")}`;

/** OpenAI's `incomplete_details.reason` for a chat `finish_reason` that cut the answer short. */
function incompleteReason(finishReason: unknown): string | null {
  if (finishReason === "length") return "max_output_tokens";
  if (finishReason === "content_filter") return "content_filter";
  return null;
}

function usageOf(usage: ChatUsage | undefined) {
  if (usage === undefined) return null;
  const input = usage.prompt_tokens ?? 0;
  const output = usage.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

/**
 * `/v1/responses` answers built from the chat relay's: one `message` output item with one
 * `output_text` part, usage in Responses names, `status: "incomplete"` when the output limit cut
 * the text. Streams follow the documented event order: `response.created`,
 * `response.in_progress`, `response.output_item.added`, `response.content_part.added`,
 * `response.output_text.delta`…, `response.output_text.done`, `response.content_part.done`,
 * `response.output_item.done`, then `response.completed` (or `response.incomplete`); a stream
 * that fails ends with `error` and `response.failed`. Each event carries `sequence_number`.
 */
export function responsesPresenter(echo: ResponsesEcho, model: string, createdAt: number): AnswerPresenter {
  const id = newId("resp");
  const itemId = newId("msg");
  let sequence = 0;
  let text = "";
  let finishReason: unknown = null;
  let usage: ChatUsage | undefined;

  const part = () => ({ type: "output_text", text, annotations: [], logprobs: [] });
  const item = (status: Status) => ({
    id: itemId,
    type: "message",
    status,
    role: "assistant",
    content: status === "in_progress" ? [] : [part()],
  });
  const response = (status: Status, extra: { error?: unknown } = {}) => {
    const reason = status === "incomplete" ? incompleteReason(finishReason) : null;
    return {
      id,
      object: "response",
      created_at: createdAt,
      status,
      background: false,
      error: extra.error ?? null,
      incomplete_details: reason === null ? null : { reason },
      instructions: echo.instructions,
      max_output_tokens: echo.maxOutputTokens,
      model,
      output: status === "in_progress" || status === "failed" ? [] : [item(status)],
      parallel_tool_calls: false,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: false,
      temperature: echo.temperature ?? 1,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: echo.topP ?? 1,
      truncation: "disabled",
      usage: status === "in_progress" ? null : usageOf(usage),
      user: echo.user,
      metadata: echo.metadata,
    };
  };
  const endStatus = (): Status => (incompleteReason(finishReason) === null ? "completed" : "incomplete");
  const event = (type: string, fields: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`;
  const at = { item_id: itemId, output_index: 0, content_index: 0 };

  return {
    unary(payload) {
      const choice = Array.isArray(payload.choices) ? payload.choices[0] : undefined;
      const message = isRecord(choice) && isRecord(choice.message) ? choice.message : {};
      text = typeof message.content === "string" ? message.content : "";
      finishReason = isRecord(choice) ? choice.finish_reason : null;
      usage = isRecord(payload.usage)
        ? (payload.usage as ChatUsage)
        : { prompt_tokens: 0, completion_tokens: 0 };
      return response(endStatus());
    },
    open: () =>
      event("response.created", { response: response("in_progress") }) +
      event("response.in_progress", { response: response("in_progress") }) +
      event("response.output_item.added", { output_index: 0, item: item("in_progress") }) +
      event("response.content_part.added", { ...at, part: part() }),
    chunk(data) {
      if (isRecord(data.usage)) usage = data.usage as ChatUsage;
      const choice = Array.isArray(data.choices) ? data.choices[0] : undefined;
      if (!isRecord(choice)) return "";
      if (choice.finish_reason !== null && choice.finish_reason !== undefined)
        finishReason = choice.finish_reason;
      const delta =
        isRecord(choice.delta) && typeof choice.delta.content === "string" ? choice.delta.content : "";
      if (delta === "") return "";
      text += delta;
      return event("response.output_text.delta", { ...at, delta, logprobs: [] });
    },
    close() {
      const status = endStatus();
      return (
        event("response.output_text.done", { ...at, text, logprobs: [] }) +
        event("response.content_part.done", { ...at, part: part() }) +
        event("response.output_item.done", { output_index: 0, item: item(status) }) +
        event(status === "completed" ? "response.completed" : "response.incomplete", {
          response: response(status),
        })
      );
    },
    fail(code: ErrorCode, detail, requestId) {
      const error = toOpenAIError(protocolError(code, detail)).error;
      const withId = requestId === undefined ? error : { ...error, request_id: requestId };
      return (
        event("error", { code, message: error.message, param: null, error: withId }) +
        event("response.failed", {
          response: response("failed", { error: { code, message: error.message } }),
        })
      );
    },
  };
}
