import {
  carriesErrorMember,
  HONEST_OUTPUT_SLACK_PER_CHOICE,
  OutputAfterFinish,
  type RelayUsage,
  StreamedToolCalls,
  type ToolCallLimit,
  toolCallsOverLimit,
} from "@pocket-ai/protocol";
import { DeliveredText } from "@pocket-ai/tokens";

/** What a text relay's engine answer is held to: its output cap, its choices, whether it echoes. */
export interface AnswerBounds {
  /** Output tokens allowed over all choices. */
  readonly maxOutputTokens: number;
  /** Choices asked for (prompts × n). */
  readonly choices: number;
  /** A completions call with `echo`: its text holds the prompt, so no output bound is read from it. */
  readonly echoes: boolean;
  /**
   * Chat: the tool calls a choice may make, as the gateway holds them (`toolCallLimit` over the
   * relay's payload and the `forcedToolChoice` this node announces); absent, any.
   */
  readonly toolCalls?: ToolCallLimit | undefined;
  /** Whether the answer comes as stream pieces (`delta`s) rather than one answer (`message`s). */
  readonly stream: boolean;
}

/**
 * Which of the gateway's rules an engine's answer broke: the gateway's own reason for it (its
 * `pocket_gateway_node_refused_answers_total` reasons), so an operator reads one vocabulary on both
 * sides. `SCHEMA` here is a top-level `error` member.
 */
export type EngineAnswerRule =
  | "SCHEMA"
  | "CHOICES"
  | "OUTPUT_AFTER_FINISH"
  | "OUTPUT_OVER_LIMIT"
  | "TOOL_CALLS"
  | "TOOL_CALLS_NOT_OFFERED";

/** Why the node must not sign an engine's answer: the rule broken and a detail in the node's words. */
export interface EngineAnswerFault {
  readonly rule: EngineAnswerRule;
  /** Counts, indexes and field names only: never text of the prompt or the answer. */
  readonly detail: string;
}

/**
 * The node signs what its engine answers, so an engine's lie would be the node's, and the gateway
 * refuses it and sanctions the node (`docs/security.md`, "What the gateway counts itself"). These
 * are the gateway's checks that need nothing but the request and the answer, run on the engine's
 * answer (or each stream piece) before the node signs it:
 *
 * - no top-level `error` member beside the choices (clients read it as the API's own error);
 * - no output for a choice after its `finish_reason`;
 * - no tool call (nor `finish_reason: "tool_calls"`) where the request offered no tools or set
 *   `tool_choice: "none"` on a node that declares it obeys it, and no second call in a choice
 *   where it set `parallel_tool_calls: false` (the gateway's rule, from `@pocket-ai/protocol`);
 * - no more text than the output cap allows: the words and pieces of the text are a lower bound of
 *   any tokenizer's count, so an answer over the cap by them was not made under the `max_tokens`
 *   the node asked for;
 * - no output tokens declared beyond the text's UTF-8 bytes plus two per choice (no honest count is
 *   higher): the usage is cut to that bound instead ({@link EngineAnswer.usage}).
 *
 * An honest engine never fails these; one that does gets a signed `BACKEND_ERROR` (or a stream's
 * `STREAM_INTERRUPTED` once text went out), which the gateway retries elsewhere without a sanction.
 * Per stream piece the cost is a few property reads on the object the backend already parsed.
 */
export class EngineAnswer {
  // Counts only (words, pieces, bytes): the node needs no copy of the text it signs and passes on.
  readonly #text = new DeliveredText({ keepText: false });
  readonly #finished = new OutputAfterFinish();
  readonly #streamedCalls: StreamedToolCalls | undefined;

  constructor(readonly bounds: AnswerBounds) {
    this.#streamedCalls =
      bounds.stream && bounds.toolCalls !== undefined ? new StreamedToolCalls(bounds.toolCalls) : undefined;
  }

  /** Adds an answer or a stream piece; why the node must not sign it, or `undefined`. */
  add(data: unknown): EngineAnswerFault | undefined {
    if (!isRecord(data)) return undefined;
    if (carriesErrorMember(data))
      return { rule: "SCHEMA", detail: "carries an `error` member beside its choices" };
    const late = this.#finished.add(data);
    if (late !== undefined) return { rule: "OUTPUT_AFTER_FINISH", detail: late };
    const calls = this.bounds.stream
      ? this.#streamedCalls?.add(data)
      : toolCallsOverLimit(data, this.bounds.toolCalls);
    if (calls !== undefined) return { rule: calls.reason, detail: calls.detail };
    this.#text.add(data);
    const { maxOutputTokens, echoes } = this.bounds;
    if (!echoes && this.#text.lowerBound > maxOutputTokens)
      return {
        rule: "OUTPUT_OVER_LIMIT",
        detail: `holds at least ${this.#text.lowerBound} output tokens; the call allowed ${maxOutputTokens}`,
      };
    return undefined;
  }

  /** `usage` with its output tokens cut to what the text added so far can hold. */
  usage(usage: RelayUsage): RelayUsage {
    if (this.bounds.echoes) return usage;
    const most = this.#text.provableMax + HONEST_OUTPUT_SLACK_PER_CHOICE * Math.max(1, this.bounds.choices);
    return usage.outputTokens <= most ? usage : { ...usage, outputTokens: most };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
