import type { RelayUsage } from "@pocket-ai/protocol";
import { DeliveredText } from "@pocket-ai/tokens";

/**
 * Tokens per choice an honest count may reach beyond the text's UTF-8 bytes (an end-of-sequence
 * and a special token, which carry no text): the gateway's own slack (`usageInflated`).
 */
const HONEST_SLACK_PER_CHOICE = 2;

/** What a text relay's engine answer is held to: its output cap, its choices, whether it echoes. */
export interface AnswerBounds {
  /** Output tokens allowed over all choices. */
  readonly maxOutputTokens: number;
  /** Choices asked for (prompts × n). */
  readonly choices: number;
  /** A completions call with `echo`: its text holds the prompt, so no output bound is read from it. */
  readonly echoes: boolean;
}

/**
 * The node signs what its engine answers, so an engine's lie would be the node's, and the gateway
 * refuses it and sanctions the node (`docs/security.md`, "What the gateway counts itself"). These
 * are the gateway's checks that need nothing but the text, run on the engine's answer (or each
 * stream piece) before the node signs it:
 *
 * - no top-level `error` member beside the choices (clients read it as the API's own error);
 * - no output for a choice after its `finish_reason`;
 * - no more text than the output cap allows: the words and pieces of the text are a lower bound of
 *   any tokenizer's count, so an answer over the cap by them was not made under the `max_tokens`
 *   the node asked for;
 * - no output tokens declared beyond the text's UTF-8 bytes plus two per choice (no honest count is
 *   higher): the usage is cut to that bound instead ({@link EngineAnswer.usage}).
 *
 * An honest engine never fails these; one that does gets a signed `BACKEND_ERROR` (or a stream's
 * `STREAM_INTERRUPTED` once text went out), which the gateway retries elsewhere without a sanction.
 */
export class EngineAnswer {
  // Counts only (words, pieces, bytes): the node needs no copy of the text it signs and passes on.
  readonly #text = new DeliveredText({ keepText: false });
  readonly #finished = new Set<number>();

  constructor(readonly bounds: AnswerBounds) {}

  /** Adds an answer or a stream piece; why the node must not sign it, or `undefined`. */
  add(data: unknown): string | undefined {
    if (!isRecord(data)) return undefined;
    if (Object.hasOwn(data, "error") && data.error !== null && data.error !== undefined)
      return "carries an `error` member beside its choices";
    const choices = Array.isArray(data.choices) ? data.choices : [];
    for (const choice of choices) {
      if (isRecord(choice) && this.#finished.has(choice.index as number) && carriesOutput(choice))
        return `sent output for choice ${String(choice.index)} after its finish_reason`;
    }
    for (const choice of choices) {
      if (isRecord(choice) && typeof choice.finish_reason === "string")
        this.#finished.add(choice.index as number);
    }
    this.#text.add(data);
    const { maxOutputTokens, echoes } = this.bounds;
    if (!echoes && this.#text.lowerBound > maxOutputTokens)
      return `holds at least ${this.#text.lowerBound} output tokens; the call allowed ${maxOutputTokens}`;
    return undefined;
  }

  /** `usage` with its output tokens cut to what the text added so far can hold. */
  usage(usage: RelayUsage): RelayUsage {
    if (this.bounds.echoes) return usage;
    const most = this.#text.provableMax + HONEST_SLACK_PER_CHOICE * Math.max(1, this.bounds.choices);
    return usage.outputTokens <= most ? usage : { ...usage, outputTokens: most };
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const hasText = (value: unknown) => typeof value === "string" && value !== "";

/** Whether a choice carries anything a client reads: text, a refusal or tool calls. */
function carriesOutput(choice: Record<string, unknown>): boolean {
  if (hasText(choice.text)) return true;
  const part = isRecord(choice.delta) ? choice.delta : isRecord(choice.message) ? choice.message : undefined;
  if (part === undefined) return false;
  return (
    hasText(part.content) ||
    hasText(part.refusal) ||
    (Array.isArray(part.tool_calls) && part.tool_calls.length > 0)
  );
}
