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

interface MessageOutput {
  readonly type: "message";
  readonly index: number;
  id: string;
  text: string;
}
interface FunctionCallOutput {
  readonly type: "function_call";
  readonly index: number;
  readonly id: string;
  callId: string;
  name: string;
  arguments: string;
}
type Output = MessageOutput | FunctionCallOutput;

interface ChatToolCallDelta {
  readonly index?: number;
  readonly id?: string;
  readonly function?: { readonly name?: string; readonly arguments?: string };
}

/** Where a presenter's message item ids come from (`responses-surface.ts` binds them to the caller). */
export interface MessageItemIds {
  /** The id of a unary answer's message item, whose text is known as the id is sent. */
  sealed(text: string): string;
  /** A streamed message item: its id now, its text kept (or not) when the stream ends. */
  streamed(): { readonly id: string; keep(text: string): void; discard(): void };
}

/**
 * `/v1/responses` answers built from the chat relay's: a `message` output item with one
 * `output_text` part when the node wrote text (or called no tool), then one `function_call` item
 * per tool call; usage in Responses names; `status: "incomplete"` when the output limit cut the
 * text. A unary answer's message item id carries its text, sealed (`ids.sealed`), so a later
 * `item_reference` to it needs nothing stored; a streamed item's id is announced before its text
 * exists, so it carries a key instead, and the text is kept, encrypted with it, once the stream
 * completes (`ids.streamed`, see `streamed-items.ts`); a stream that fails keeps nothing.
 *
 * Streams follow the documented event order: `response.created`, `response.in_progress`, then per
 * item as it starts `response.output_item.added` (and `response.content_part.added` for a message),
 * `response.output_text.delta` or `response.function_call_arguments.delta`…, and at the end per
 * item `response.output_text.done`, `response.content_part.done` (or
 * `response.function_call_arguments.done`), `response.output_item.done`, then
 * `response.completed` (or `response.incomplete`); a stream that fails ends with `error` and
 * `response.failed`. Each event carries `sequence_number`.
 */
export function responsesPresenter(
  echo: ResponsesEcho,
  model: string,
  createdAt: number,
  ids: MessageItemIds,
): AnswerPresenter {
  const id = newId("resp");
  let sequence = 0;
  const outputs: Output[] = [];
  let message: MessageOutput | undefined;
  let streamedItem: ReturnType<MessageItemIds["streamed"]> | undefined;
  const calls = new Map<number, FunctionCallOutput>();
  let finishReason: unknown = null;
  let usage: ChatUsage | undefined;

  const part = (m: MessageOutput) => ({ type: "output_text", text: m.text, annotations: [], logprobs: [] });
  const item = (o: Output, status: Status) =>
    o.type === "message"
      ? {
          id: o.id,
          type: "message",
          status,
          role: "assistant",
          content: status === "in_progress" ? [] : [part(o)],
        }
      : {
          id: o.id,
          type: "function_call",
          status,
          call_id: o.callId,
          name: o.name,
          arguments: status === "in_progress" ? "" : o.arguments,
        };
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
      output: status === "in_progress" || status === "failed" ? [] : outputs.map((o) => item(o, status)),
      parallel_tool_calls: echo.parallelToolCalls,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      // No response is kept to be retrieved or continued (only a streamed message item's text, for
      // an item_reference, encrypted with a key that only its id holds).
      store: false,
      temperature: echo.temperature ?? 1,
      text: { format: echo.textFormat },
      tool_choice: echo.toolChoice,
      tools: echo.tools,
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
  const at = (m: MessageOutput) => ({ item_id: m.id, output_index: m.index, content_index: 0 });

  const addMessage = (text: string, itemId: string): MessageOutput => {
    const added: MessageOutput = { type: "message", index: outputs.length, id: itemId, text };
    outputs.push(added);
    return added;
  };
  const addCall = (call: ChatToolCallDelta, position: number): FunctionCallOutput => {
    const added: FunctionCallOutput = {
      type: "function_call",
      index: outputs.length,
      id: newId("fc"),
      callId: call.id ?? `call_${position}_${id.slice(5, 21)}`,
      name: call.function?.name ?? "",
      arguments: call.function?.arguments ?? "",
    };
    outputs.push(added);
    return added;
  };
  /** Opens the streamed message item on its first text. */
  const openMessage = () => {
    if (message !== undefined) return "";
    streamedItem = ids.streamed();
    message = addMessage("", streamedItem.id);
    return (
      event("response.output_item.added", {
        output_index: message.index,
        item: item(message, "in_progress"),
      }) + event("response.content_part.added", { ...at(message), part: part(message) })
    );
  };

  return {
    unary(payload) {
      const choice = Array.isArray(payload.choices) ? payload.choices[0] : undefined;
      const reply = isRecord(choice) && isRecord(choice.message) ? choice.message : {};
      const text = typeof reply.content === "string" ? reply.content : "";
      const toolCalls = Array.isArray(reply.tool_calls) ? (reply.tool_calls as ChatToolCallDelta[]) : [];
      if (text !== "" || toolCalls.length === 0) addMessage(text, ids.sealed(text));
      for (const [position, call] of toolCalls.entries()) addCall(call, position);
      finishReason = isRecord(choice) ? choice.finish_reason : null;
      usage = isRecord(payload.usage)
        ? (payload.usage as ChatUsage)
        : { prompt_tokens: 0, completion_tokens: 0 };
      return response(endStatus());
    },
    open: () =>
      event("response.created", { response: response("in_progress") }) +
      event("response.in_progress", { response: response("in_progress") }),
    chunk(data) {
      if (isRecord(data.usage)) usage = data.usage as ChatUsage;
      const choice = Array.isArray(data.choices) ? data.choices[0] : undefined;
      if (!isRecord(choice)) return "";
      if (choice.finish_reason !== null && choice.finish_reason !== undefined)
        finishReason = choice.finish_reason;
      const delta = isRecord(choice.delta) ? choice.delta : {};
      let events = "";
      if (typeof delta.content === "string" && delta.content !== "") {
        events += openMessage();
        const open = message as MessageOutput;
        open.text += delta.content;
        events += event("response.output_text.delta", { ...at(open), delta: delta.content, logprobs: [] });
      }
      const toolCalls: unknown[] = Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
      for (const [position, raw] of toolCalls.entries()) {
        if (!isRecord(raw)) continue;
        const call = raw as ChatToolCallDelta;
        const key = typeof call.index === "number" ? call.index : position;
        let open = calls.get(key);
        if (open === undefined) {
          open = addCall({ ...call, function: { ...(call.function ?? {}), arguments: "" } }, key);
          calls.set(key, open);
          events += event("response.output_item.added", {
            output_index: open.index,
            item: item(open, "in_progress"),
          });
        }
        const more = call.function?.arguments ?? "";
        if (more !== "") {
          open.arguments += more;
          events += event("response.function_call_arguments.delta", {
            item_id: open.id,
            output_index: open.index,
            delta: more,
          });
        }
      }
      return events;
    },
    close() {
      const status = endStatus();
      let events = outputs.length === 0 ? openMessage() : "";
      // The whole text is known now: kept (encrypted with the id's key) for a later item_reference.
      if (message !== undefined) streamedItem?.keep(message.text);
      for (const o of outputs) {
        if (o.type === "message") {
          events +=
            event("response.output_text.done", { ...at(o), text: o.text, logprobs: [] }) +
            event("response.content_part.done", { ...at(o), part: part(o) });
        } else {
          events += event("response.function_call_arguments.done", {
            item_id: o.id,
            output_index: o.index,
            name: o.name,
            arguments: o.arguments,
          });
        }
        events += event("response.output_item.done", { output_index: o.index, item: item(o, status) });
      }
      return (
        events +
        event(status === "completed" ? "response.completed" : "response.incomplete", {
          response: response(status),
        })
      );
    },
    fail(code: ErrorCode, detail, requestId) {
      streamedItem?.discard();
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
